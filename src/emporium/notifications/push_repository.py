"""The SQL of the browsers subscribed to web push."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import utcnow
from emporium.notifications.models import PushSubscription


class PushSubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, user_id: int, endpoint: str, p256dh: str, auth: str, user_agent: str | None) -> int:
        """Keep the browser's subscription for ``user_id``; an endpoint seen before (the same browser
        subscribing again, or another customer signing in on it) is moved to this customer with its new
        keys. The subscription's id."""
        dialect = self.session.get_bind().dialect.name
        values = {"user_id": user_id, "p256dh": p256dh, "auth": auth, "user_agent": user_agent}
        statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(PushSubscription)
        result = await self.session.execute(
            statement.values(endpoint=endpoint, **values)
            .on_conflict_do_update(index_elements=["endpoint"], set_=values)
            .returning(PushSubscription.id)
        )
        return int(result.scalar_one())

    async def of_user(self, user_id: int) -> Sequence[PushSubscription]:
        result = await self.session.execute(
            select(PushSubscription).where(PushSubscription.user_id == user_id).order_by(PushSubscription.id)
        )
        return result.scalars().all()

    async def delete_endpoint(self, endpoint: str, *, user_id: int | None = None) -> bool:
        """Forget a subscription: the push service said it is gone, or its owner turned push off (then
        ``user_id`` makes sure nobody deletes another customer's)."""
        statement = delete(PushSubscription).where(PushSubscription.endpoint == endpoint)
        if user_id is not None:
            statement = statement.where(PushSubscription.user_id == user_id)
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def mark_used(self, endpoint: str) -> None:
        await self.session.execute(
            update(PushSubscription)
            .where(PushSubscription.endpoint == endpoint)
            .values(last_used_at=utcnow())
        )
