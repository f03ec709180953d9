"""Temporary: the one call of the preferences the journeys need, until the notifications core lands with
the real preferences per category and channel (it replaces this module; nothing else is kept).

An unsubscribe is kept as an opt-out contact point whose channel is the category and whose address is the
recipient's key (``user:12``, ``email:a@example.com``).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.notify import Recipient
from emporium.notifications.contact_repository import ContactRepository


def recipient_key(recipient: Recipient) -> str:
    if recipient.user_id is not None:
        return f"user:{recipient.user_id}"
    if recipient.email:
        return f"email:{recipient.email.lower()}"
    return f"phone:{recipient.phone}"


async def unsubscribe(session: AsyncSession, recipient: Recipient, category: str, *, source: str) -> None:
    """Turn ``category`` off for ``recipient`` (``source``: where they asked, e.g. ``one_click``)."""
    await ContactRepository(session).set_opt_out(
        category, recipient_key(recipient), opted_out=True, source=source
    )


async def unsubscribed(session: AsyncSession, recipient: Recipient, category: str) -> bool:
    return await ContactRepository(session).opted_out(category, recipient_key(recipient))
