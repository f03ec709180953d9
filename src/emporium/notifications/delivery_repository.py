"""The SQL of planning and sending: notifications, their deliveries, and the people they go to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import User
from emporium.core.db import utcnow
from emporium.notifications.models import Delivery, DevMailMessage, Notification, NotificationSchedule

# Deliveries that may still be sent (a claim takes one of these whose time has come).
OPEN = ("pending", "deferred")


@dataclass(frozen=True)
class Person:
    """What planning knows of a registered recipient."""

    user_id: int
    email: str
    phone: str | None
    quiet_hours: str | None
    time_zone: str | None
    has_schedule: bool


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self, table: Any) -> Any:
        dialect = self.session.get_bind().dialect.name
        return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)

    async def person(self, user_id: int) -> Person | None:
        """An active, not erased user with their quiet hours (one statement)."""
        row = (
            await self.session.execute(
                select(
                    User.id,
                    User.email,
                    User.phone,
                    NotificationSchedule.quiet_hours,
                    NotificationSchedule.time_zone,
                    NotificationSchedule.user_id.label("scheduled"),
                )
                .outerjoin(NotificationSchedule, NotificationSchedule.user_id == User.id)
                .where(User.id == user_id, User.erased_at.is_(None))
            )
        ).one_or_none()
        if row is None:
            return None
        return Person(row.id, row.email, row.phone, row.quiet_hours, row.time_zone, row.scheduled is not None)

    async def staff_with_roles(self, roles: Sequence[str]) -> list[int]:
        rows = await self.session.execute(
            select(User.id)
            .where(User.role.in_(list(roles)), User.is_active.is_(True), User.erased_at.is_(None))
            .order_by(User.id)
        )
        return list(rows.scalars())

    async def add_notification(self, values: dict[str, Any]) -> int | None:
        """Insert the notification unless this event already told this recipient: its id, or None."""
        result = await self.session.execute(
            self._insert(Notification)
            .values(created_at=utcnow(), **values)
            .on_conflict_do_nothing(index_elements=["event_key", "recipient_key"])
            .returning(Notification.id)
        )
        return result.scalar_one_or_none()

    async def add_deliveries(self, rows: list[dict[str, Any]]) -> list[tuple[int, str, datetime]]:
        """Insert deliveries (a key already taken is skipped): (id, status, due_at) of those written."""
        if not rows:
            return []
        now = utcnow()
        result = await self.session.execute(
            self._insert(Delivery)
            .values([{"attempts": 0, "created_at": now, "updated_at": now, **row} for row in rows])
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(Delivery.id, Delivery.status, Delivery.due_at)
        )
        return [(r.id, r.status, r.due_at) for r in result]

    async def channels_of(self, notification_id: int) -> set[str]:
        rows = await self.session.execute(
            select(Delivery.channel).where(Delivery.notification_id == notification_id)
        )
        return set(rows.scalars())

    async def claim(self, delivery_id: int, now: datetime, lease_seconds: float) -> Delivery | None:
        """Take a due delivery for one attempt: one conditional UPDATE that moves its ``due_at`` past the
        lease, so no other run takes it while this one sends (a run that dies lets it lapse)."""
        result = await self.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status.in_(OPEN), Delivery.due_at <= now)
            .values(
                attempts=Delivery.attempts + 1,
                due_at=now + timedelta(seconds=lease_seconds),
                updated_at=now,
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        if result.scalar_one_or_none() is None:
            return None
        return await self.delivery(delivery_id)

    async def delivery(self, delivery_id: int) -> Delivery | None:
        result = await self.session.execute(
            select(Delivery).where(Delivery.id == delivery_id).execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def notification(self, notification_id: int) -> Notification | None:
        return await self.session.get(Notification, notification_id)

    async def update_delivery(self, delivery_id: int, **values: Any) -> None:
        await self.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )

    async def keep_in_mailbox(self, message: DevMailMessage) -> int:
        self.session.add(message)
        await self.session.flush()
        return message.id

    async def about_order(self, number: str, limit: int) -> list[tuple[Delivery, Notification]]:
        """The deliveries of the notifications whose context names order ``number``, oldest first."""
        rows = await self.session.execute(
            select(Delivery, Notification)
            .join(Notification, Notification.id == Delivery.notification_id)
            .where(Notification.context["number"].as_string() == number)
            .order_by(Delivery.id)
            .limit(limit)
        )
        return [(d, n) for d, n in rows.tuples()]

    async def told(self, user_id: int) -> list[Notification]:
        rows = await self.session.execute(
            select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
        )
        return list(rows.scalars())

    async def add_delivery(self, delivery: Delivery) -> int:
        self.session.add(delivery)
        await self.session.flush()
        return delivery.id

    async def erase_for(self, user_id: int, email: str) -> None:
        """Forget what was told to a customer who asked to be erased (their deliveries go with it)."""
        await self.session.execute(
            delete(Notification).where(
                (Notification.user_id == user_id) | (Notification.recipient_key == f"email:{email}")
            )
        )
