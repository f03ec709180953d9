"""Shared steps of the notification tests: people, choices, and what was planned and sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from emporium.accounts.models import User
from emporium.core.context import AppContext
from emporium.core.notify import Recipient, notify
from emporium.notifications import clock
from emporium.notifications.models import Delivery, DevMailMessage, Notification
from emporium.notifications.preferences import choose

ORDER_CONTEXT: dict[str, Any] = {
    "shop_name": "Emporium",
    "order_id": 7,
    "name": "Ada",
    "number": "ORD-2026-000007",
    "status": "shipped",
    "carrier": "DHL",
    "tracking_number": "JD0146",
    "total": "45.00 USD",
    "payment_method": "Card",
    "order_url": "http://127.0.0.1:8000/account/orders/7",
    "track_url": "http://127.0.0.1:8000/track?order_number=ORD-2026-000007",
}


async def make_user(
    ctx: AppContext, email: str, phone: str | None = "+12025550143", role: str = "customer"
) -> int:
    async with ctx.db.session() as session:
        user = User(email=email, first_name="Ada", phone=phone, role=role, is_active=True)
        session.add(user)
        await session.flush()
        return user.id


async def set_choice(ctx: AppContext, user_id: int, category: str, channel: str, enabled: bool) -> None:
    async with ctx.db.session() as session:
        await choose(session, user_id, category, channel, enabled, source="test")


async def tell(
    ctx: AppContext, event: str, key: str, recipient: Recipient, context: dict[str, Any] | None = None
) -> None:
    async with ctx.db.session() as session:
        notify(session, event, key=key, recipients=[recipient], context=context or ORDER_CONTEXT)


async def deliveries(ctx: AppContext, key: str | None = None) -> list[Delivery]:
    async with ctx.db.session() as session:
        query = select(Delivery).order_by(Delivery.id).execution_options(populate_existing=True)
        if key is not None:
            query = query.where(Delivery.idempotency_key.startswith(f"{key}|"))
        return list((await session.execute(query)).scalars())


async def notifications_of(ctx: AppContext, key: str) -> list[Notification]:
    async with ctx.db.session() as session:
        rows = await session.execute(select(Notification).where(Notification.event_key == key))
        return list(rows.scalars())


async def mailbox(ctx: AppContext, channel: str) -> list[DevMailMessage]:
    async with ctx.db.session() as session:
        rows = await session.execute(
            select(DevMailMessage).where(DevMailMessage.channel == channel).order_by(DevMailMessage.id)
        )
        return list(rows.scalars())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Clock:
    """The time planning and delivery read (notifications/clock.py), moved by the test."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current


def frozen(monkeypatch: Any, start: datetime) -> Clock:
    fake = Clock(start)
    monkeypatch.setattr(clock, "now", fake)
    return fake
