"""One-click unsubscribe (RFC 8058) from a journey's messages: the link each e-mail carries, and what it does.

The token names the category and who receives it by row id (the customer, the guest's cart, the guest's
alert), never by address: the URL shows no personal data, and the address is read from the row when the
link is used. The signature is the only authority (RFC 8058: a mail client posts without cookies).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.notify import Recipient
from emporium.journeys import links
from emporium.journeys.config import JourneySettings
from emporium.journeys.errors import LinkExpired, LinkInvalid
from emporium.journeys.repository import JourneyRepository
from emporium.notifications import preferences

PURPOSE = "unsubscribe"
ONE_CLICK = "List-Unsubscribe=One-Click"
# What a token's kind names: (category, whose id).
KINDS = {
    "cu": ("abandoned_cart", "user"),
    "cg": ("abandoned_cart", "cart"),
    "au": ("back_in_stock", "user"),
    "ag": ("back_in_stock", "alert"),
}
CATEGORY_NAMES = {
    "abandoned_cart": "reminders about carts left behind",
    "back_in_stock": "back-in-stock alerts",
}


@dataclass(frozen=True)
class Unsubscribing:
    category: str
    recipient: Recipient


def unsubscribe_url(settings: Settings, kind: str, row_id: int, now: datetime) -> str:
    days = settings.part(JourneySettings).back_in_stock_unsubscribe_ttl_days
    token = links.make(settings, PURPOSE, kind, row_id, now + timedelta(days=days))
    return f"{settings.public_url.rstrip('/')}/u/{token}"


def email_facts(settings: Settings, kind: str, row_id: int, now: datetime) -> dict[str, Any]:
    """What a journey's message carries for one-click unsubscribe: the URL, and the e-mail headers of RFC
    8058 (the core's e-mail provider copies ``email_headers`` onto the message)."""
    url = unsubscribe_url(settings, kind, row_id, now)
    return {
        "unsubscribe_url": url,
        "email_headers": {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK},
    }


def read_token(settings: Settings, token: str, now: datetime) -> tuple[str, str, int]:
    """The category, whose id kind and id a token names; LinkInvalid or LinkExpired otherwise."""
    try:
        link = links.read(settings, PURPOSE, token, now)
    except links.ExpiredLink as exc:
        raise LinkExpired() from exc
    except links.BadLink as exc:
        raise LinkInvalid() from exc
    if link.kind not in KINDS:
        raise LinkInvalid()
    category, whose = KINDS[link.kind]
    return category, whose, link.id


async def _recipient(session: AsyncSession, whose: str, row_id: int) -> Recipient | None:
    repo = JourneyRepository(session)
    if whose == "user":
        return Recipient(user_id=row_id)
    if whose == "cart":
        email = await repo.contact_of_cart(row_id)
        return Recipient(email=email) if email else None
    alert = await repo.alert(row_id)
    if alert is None:
        return None
    return Recipient(user_id=alert.user_id) if alert.user_id else Recipient(email=alert.email)


class Unsubscribes:
    async def check(self, session: AsyncSession, settings: Settings, token: str, now: datetime) -> str:
        """The category a token would unsubscribe from (the confirmation page asks first)."""
        category, _, _ = read_token(settings, token, now)
        return category

    async def unsubscribe(
        self, session: AsyncSession, settings: Settings, token: str, now: datetime, *, source: str
    ) -> Unsubscribing | None:
        """Turn the category off for the token's recipient; None when the row it names is gone (nothing
        left to send to)."""
        category, whose, row_id = read_token(settings, token, now)
        recipient = await _recipient(session, whose, row_id)
        if recipient is None:
            return None
        await preferences.unsubscribe(session, recipient, category, source=source)
        return Unsubscribing(category, recipient)


unsubscribes = Unsubscribes()
