"""Notifications: what to tell whom. Every message is a job in the outbox of the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core import mail
from emporium.core.mail import SEND_EMAIL_JOB
from emporium.core.pagination import PageParams
from emporium.notifications.models import DevMailMessage
from emporium.notifications.repository import NotificationRepository

__all__ = ["SEND_EMAIL_JOB", "NotificationService", "notifications"]


class NotificationService:
    def queue_email(self, session: AsyncSession, *, to: str, template: str, context: dict[str, Any]) -> None:
        """Render and send later, after the transaction that caused the mail has committed (core/mail.py)."""
        mail.queue_email(session, to=to, template=template, context=context)

    async def mailbox(
        self, session: AsyncSession, page: PageParams, to: str | None
    ) -> tuple[list[DevMailMessage], int]:
        rows, total = await NotificationRepository(session).mailbox(to, limit=page.limit, offset=page.offset)
        return list(rows), total

    async def mail_message(self, session: AsyncSession, message_id: int) -> DevMailMessage | None:
        return await NotificationRepository(session).mail_message(message_id)

    async def erase_mail_to(self, session: AsyncSession, email: str) -> None:
        """Forget what the mailbox and the e-mail jobs hold for an address whose owner asked to be erased."""
        await NotificationRepository(session).erase_mail_to(email)


notifications = NotificationService()
