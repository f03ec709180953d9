"""The in-app inbox: the notifications planning wrote for a signed-in customer, read a page at a time and
marked read. Object-level checks are in ``auth.py`` (``OwnNotification``); every method here also names
the user, so a row of another customer is never touched even if a caller forgot the guard."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import utcnow
from emporium.core.keyset import decode_cursor, encode_cursor
from emporium.notifications.inbox_repository import InboxRepository
from emporium.notifications.inbox_schemas import NotificationRead
from emporium.notifications.models import Notification

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
BELL_CAP = 99


@dataclass(frozen=True)
class InboxPage:
    rows: list[NotificationRead]
    next_cursor: str | None
    unread_count: int


def read_model(row: Notification) -> NotificationRead:
    return NotificationRead(
        id=row.id,
        type=row.event,
        category=row.category,
        title=row.title,
        message=row.body,
        link=row.link,
        is_read=row.read_at is not None,
        read_at=row.read_at,
        created_at=row.created_at,
    )


class InboxService:
    async def page(
        self,
        session: AsyncSession,
        user_id: int,
        *,
        after: str | None = None,
        limit: int = DEFAULT_LIMIT,
        unread_only: bool = False,
    ) -> InboxPage:
        """Newest first; ``after`` is the cursor of the previous page (a cursor that does not decode is a
        422, core/keyset.py)."""
        cursor = decode_cursor(after)
        repo = InboxRepository(session)
        rows = list(
            await repo.page(
                user_id,
                before_id=cursor.id if cursor else None,
                limit=limit + 1,
                unread_only=unread_only,
            )
        )
        shown = rows[:limit]
        next_cursor = encode_cursor(None, shown[-1].id) if len(rows) > limit else None
        return InboxPage(
            rows=[read_model(row) for row in shown],
            next_cursor=next_cursor,
            unread_count=await repo.unread_count(user_id),
        )

    async def unread_count(self, session: AsyncSession, user_id: int) -> int:
        return await InboxRepository(session).unread_count(user_id)

    async def own(self, session: AsyncSession, user_id: int, notification_id: int) -> Notification | None:
        return await InboxRepository(session).own(user_id, notification_id)

    async def mark_read(self, session: AsyncSession, notification: Notification) -> NotificationRead:
        if notification.read_at is None and notification.user_id is not None:
            await InboxRepository(session).mark_read(notification.user_id, notification.id, utcnow())
        return read_model(notification)

    async def mark_all_read(self, session: AsyncSession, user_id: int) -> int:
        return await InboxRepository(session).mark_all_read(user_id, utcnow())


inbox = InboxService()
