"""The SQL of recipients' choices per category and channel, their quiet hours and their daily budgets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import utcnow
from emporium.notifications.models import NotificationBudget, NotificationChoice, NotificationSchedule


class PreferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self, table: Any) -> Any:
        dialect = self.session.get_bind().dialect.name
        return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)

    async def choices(self, key: str) -> dict[tuple[str, str], bool]:
        rows = await self.session.execute(
            select(NotificationChoice.category, NotificationChoice.channel, NotificationChoice.enabled).where(
                NotificationChoice.recipient_key == key
            )
        )
        return {(r.category, r.channel): bool(r.enabled) for r in rows}

    async def choice_rows(self, key: str) -> Sequence[NotificationChoice]:
        rows = await self.session.execute(
            select(NotificationChoice)
            .where(NotificationChoice.recipient_key == key)
            .order_by(NotificationChoice.category, NotificationChoice.channel)
        )
        return rows.scalars().all()

    async def put(
        self,
        key: str,
        user_id: int | None,
        category: str,
        channel: str,
        enabled: bool,
        *,
        consent_at: datetime | None,
        consent_source: str | None,
    ) -> None:
        values = {
            "enabled": enabled,
            "consent_at": consent_at,
            "consent_source": consent_source,
            "updated_at": utcnow(),
        }
        statement = self._insert(NotificationChoice).values(
            recipient_key=key, user_id=user_id, category=category, channel=channel, **values
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["recipient_key", "category", "channel"], set_=values
            )
        )

    async def erase(self, *keys: str) -> None:
        await self.session.execute(
            delete(NotificationChoice).where(NotificationChoice.recipient_key.in_(keys))
        )

    async def schedule(self, user_id: int) -> NotificationSchedule | None:
        return await self.session.get(NotificationSchedule, user_id)

    async def put_schedule(self, user_id: int, quiet_hours: str | None, time_zone: str | None) -> None:
        values = {"quiet_hours": quiet_hours, "time_zone": time_zone, "updated_at": utcnow()}
        statement = self._insert(NotificationSchedule).values(user_id=user_id, **values)
        await self.session.execute(statement.on_conflict_do_update(index_elements=["user_id"], set_=values))

    async def take_budget(self, key: str, channel: str, day: str, limit: int) -> bool:
        """Count one message against the day's budget unless it is spent: True when counted. One
        conditional UPDATE, so concurrent planners never exceed the limit."""
        await self.session.execute(
            self._insert(NotificationBudget)
            .values(recipient_key=key, channel=channel, day=day, used=0)
            .on_conflict_do_nothing(index_elements=["recipient_key", "channel", "day"])
        )
        result = await self.session.execute(
            update(NotificationBudget)
            .where(
                NotificationBudget.recipient_key == key,
                NotificationBudget.channel == channel,
                NotificationBudget.day == day,
                NotificationBudget.used < limit,
            )
            .values(used=NotificationBudget.used + 1)
            .returning(NotificationBudget.used)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none() is not None
