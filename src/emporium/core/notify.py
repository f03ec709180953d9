"""Telling people that something happened: the one entry point every domain calls.

``notify`` writes a planning job into the outbox of the caller's transaction (like core/mail.py): once that
transaction has committed, the planning job writes one notification per recipient and one delivery per
channel the recipient's preferences allow. It lives in core, below every domain, so any domain may call it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.jobs import enqueue

PLAN_JOB = "notifications.plan"


@dataclass(frozen=True)
class Recipient:
    user_id: int | None = None  # a customer or staff member
    email: str | None = None  # a guest's e-mail (or override)
    phone: str | None = None  # E.164
    locale: str | None = None


def notify(
    session: AsyncSession,
    event: str,
    *,
    key: str,
    recipients: Sequence[Recipient],
    context: Mapping[str, Any],
    link: str | None = None,
) -> None:
    """Queue the planning job in the caller's transaction (an outbox job). ``key`` identifies the occurrence
    (e.g. f"order.shipped:{order.id}"): notifying the same key twice changes nothing."""
    enqueue(
        session,
        PLAN_JOB,
        {
            "event": event,
            "key": key,
            "recipients": [asdict(recipient) for recipient in recipients],
            "context": dict(context),
            "link": link,
        },
    )


def notify_staff(
    session: AsyncSession, event: str, *, key: str, context: Mapping[str, Any], permission: str
) -> None:
    """As ``notify``, to every staff member holding ``permission`` when the job plans it."""
    enqueue(
        session,
        PLAN_JOB,
        {"event": event, "key": key, "staff_permission": permission, "context": dict(context), "link": None},
    )
