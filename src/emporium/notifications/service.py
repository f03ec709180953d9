"""Notifications: what to tell whom. Every message is a job in the outbox of the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.jobs import enqueue
from emporium.core.pagination import PageParams
from emporium.notifications.models import DevMailMessage

SEND_EMAIL_JOB = "notifications.send_email"


class NotificationService:
    def queue_email(self, session: AsyncSession, *, to: str, template: str, context: dict[str, Any]) -> None:
        """Render and send later, after the transaction that caused the mail has committed.

        The message key, chosen now, becomes the Message-ID: every attempt sends the same one.
        """
        enqueue(
            session,
            SEND_EMAIL_JOB,
            {"to": to, "template": template, "context": context, "message_key": uuid.uuid4().hex},
        )

    async def mailbox(
        self, session: AsyncSession, page: PageParams, to: str | None
    ) -> tuple[list[DevMailMessage], int]:
        query = select(DevMailMessage)
        if to:
            query = query.where(DevMailMessage.to_address == to.lower())
        total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = await session.execute(
            query.order_by(DevMailMessage.id.desc()).offset(page.offset).limit(page.limit)
        )
        return list(rows.scalars().all()), int(total)

    async def mail_message(self, session: AsyncSession, message_id: int) -> DevMailMessage | None:
        return await session.get(DevMailMessage, message_id)


notifications = NotificationService()
