"""Abandoned carts: reminders after an hour and after a day, and the signed link that restores the cart.

A cart is a candidate when someone can be told (a signed-in customer's cart, or a guest cart whose guest
typed an e-mail at checkout), it has lines, none changed for ``abandoned_cart_first_hours``, no order took
them (placing an order empties the cart) and something in it can still be bought. Each reminder is sent at
most once per cart: its row in ``cart_reminders`` is inserted first (a unique key) and only the process
whose insert wrote it queues the notification, under the key ``cart.abandoned:{cart_id}:{n}``. Whether the
recipient agreed to marketing is the planning job's business (category ``abandoned_cart``).

Who may restore a cart (docs/decisions.md, "Abandoned-cart links"): a customer's cart only ever goes back
to that customer, once signed in; a guest cart goes to whoever opens its link (it was sent to the e-mail
the guest typed), which becomes the browser's cart under a new token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.cart.service import carts
from emporium.core.config import Settings
from emporium.core.notify import Recipient, notify
from emporium.journeys import links
from emporium.journeys.config import JourneySettings
from emporium.journeys.errors import (
    CartGone,
    CartOfAnotherAccount,
    LinkExpired,
    LinkInvalid,
    SignInToRestore,
)
from emporium.journeys.repository import CartCandidate, JourneyRepository
from emporium.journeys.unsubscribe import email_facts

EVENT = "cart.abandoned"
CATEGORY = "abandoned_cart"
PURPOSE = "cart-recovery"
LINES_SHOWN = 10


@dataclass(frozen=True)
class ScanBatch:
    looked_at: int
    reminded: int
    last_cart_id: int


@dataclass(frozen=True)
class Restored:
    """The cart is the visitor's now; ``guest_token`` is set when the browser must keep a new cart token."""

    cart_id: int
    guest_token: str | None


def recovery_url(settings: Settings, cart_id: int, now: datetime) -> str:
    hours = settings.part(JourneySettings).abandoned_cart_link_ttl_hours
    token = links.make(settings, PURPOSE, "cart", cart_id, now + timedelta(hours=hours))
    return f"{settings.public_url.rstrip('/')}/r/{token}"


def _due(settings: JourneySettings, candidate: CartCandidate, now: datetime) -> int | None:
    """The reminder due now (1 or 2), or None when it was sent already."""
    idle = now - candidate.last_change
    due = 2 if idle >= timedelta(hours=settings.abandoned_cart_second_hours) else 1
    return due if candidate.reminders_sent < due else None


class AbandonedCarts:
    async def remember_guest_email(self, session: AsyncSession, cart_id: int, email: str) -> None:
        """A guest typed ``email`` at checkout: keep it with their cart, to remind them if they go."""
        await JourneyRepository(session).remember_contact(cart_id, email.strip().lower())

    async def scan(
        self, session: AsyncSession, settings: Settings, now: datetime, *, after_id: int
    ) -> ScanBatch:
        """Remind the next batch of abandoned carts (cart ids above ``after_id``); the caller commits."""
        journey = settings.part(JourneySettings)
        repo = JourneyRepository(session)
        candidates = await repo.abandoned_carts(
            now=now,
            first=now - timedelta(hours=journey.abandoned_cart_first_hours),
            second=now - timedelta(hours=journey.abandoned_cart_second_hours),
            oldest=now - timedelta(hours=journey.abandoned_cart_max_age_hours),
            after_id=after_id,
            limit=journey.abandoned_cart_batch,
        )
        reminded = 0
        for candidate in candidates:
            due = _due(journey, candidate, now)
            if due is not None and await repo.record_reminder(candidate.cart_id, due, now):
                await self._remind(session, settings, candidate, due, now)
                reminded += 1
        last = candidates[-1].cart_id if candidates else after_id
        return ScanBatch(len(candidates), reminded, last)

    async def _remind(
        self,
        session: AsyncSession,
        settings: Settings,
        candidate: CartCandidate,
        reminder: int,
        now: datetime,
    ) -> None:
        lines = await JourneyRepository(session).cart_lines(candidate.cart_id, LINES_SHOWN)
        if candidate.user_id is not None:
            recipient, unsubscribe = Recipient(user_id=candidate.user_id), ("cu", candidate.user_id)
        else:
            recipient, unsubscribe = Recipient(email=candidate.email), ("cg", candidate.cart_id)
        link = recovery_url(settings, candidate.cart_id, now)
        context: dict[str, Any] = {
            "reminder": reminder,
            "shop_name": settings.shop_name,
            "cart_url": link,
            "items": [
                {"name": product if product == variant else f"{product} ({variant})", "quantity": qty}
                for product, variant, qty in lines
            ],
            "item_count": str(len(lines)),
            **email_facts(settings, unsubscribe[0], unsubscribe[1], now),
        }
        notify(
            session,
            EVENT,
            key=f"{EVENT}:{candidate.cart_id}:{reminder}",
            recipients=[recipient],
            context=context,
            link=link,
        )

    async def restore(
        self, session: AsyncSession, settings: Settings, token: str, now: datetime, *, customer_id: int | None
    ) -> Restored:
        """Make the link's cart the visitor's (see the module's docstring for who may)."""
        try:
            link = links.read(settings, PURPOSE, token, now)
        except links.ExpiredLink as exc:
            raise LinkExpired() from exc
        except links.BadLink as exc:
            raise LinkInvalid() from exc
        cart = await JourneyRepository(session).cart(link.id)
        if cart is None or cart.expires_at <= now:
            raise CartGone()
        if cart.user_id is not None:
            if customer_id is None:
                raise SignInToRestore()
            if customer_id != cart.user_id:
                raise CartOfAnotherAccount()
            return Restored(cart.id, None)
        fresh = await carts.reissue_guest_token(session, cart.id)
        if fresh is None:
            raise CartGone()
        if customer_id is not None:
            # A signed-in visitor takes the guest cart into their own, as at sign-in.
            await carts.merge_guest_cart(session, settings, user_id=customer_id, token=fresh)
            return Restored(cart.id, None)
        return Restored(cart.id, fresh)


abandoned_carts = AbandonedCarts()
