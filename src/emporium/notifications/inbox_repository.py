"""The SQL of the in-app inbox: a recipient's notifications, newest first, a keyset page at a time, and
their read marks. Every statement names the user, so no query can reach another customer's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.notifications.models import Notification


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, user_id: int, *, before_id: int | None, limit: int, unread_only: bool
    ) -> Sequence[Notification]:
        """Up to ``limit`` of the user's notifications with ids below ``before_id``, newest first (the
        index on (user_id, id) serves it)."""
        statement = select(Notification).where(Notification.user_id == user_id)
        if before_id is not None:
            statement = statement.where(Notification.id < before_id)
        if unread_only:
            statement = statement.where(Notification.read_at.is_(None))
        result = await self.session.execute(statement.order_by(Notification.id.desc()).limit(limit))
        return result.scalars().all()

    async def unread_count(self, user_id: int) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        return int(result.scalar_one())

    async def own(self, user_id: int, notification_id: int) -> Notification | None:
        result = await self.session.execute(
            select(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
        )
        return result.scalar_one_or_none()

    async def mark_read(self, user_id: int, notification_id: int, at: datetime) -> None:
        await self.session.execute(
            update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.user_id == user_id,
                Notification.read_at.is_(None),
            )
            .values(read_at=at)
            .execution_options(synchronize_session="fetch")
        )

    async def mark_all_read(self, user_id: int, at: datetime) -> int:
        result = await self.session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=at)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
