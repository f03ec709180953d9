"""Notifications: what to tell whom. Every message is a job in the outbox of the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core import mail
from emporium.core.errors import NotFound
from emporium.core.jobs.models import Job
from emporium.core.keyset import KeysetPage, decode_cursor, encode_cursor
from emporium.core.mail import SEND_EMAIL_JOB
from emporium.core.pagination import PageParams
from emporium.notifications.email import subject_of
from emporium.notifications.models import DevMailMessage
from emporium.notifications.repository import NotificationRepository

__all__ = ["SEND_EMAIL_JOB", "NotificationService", "SentMail", "notifications"]

# What staff read for the state of an e-mail's job.
MAIL_STATES = {"pending": "queued", "running": "sending", "done": "sent", "dead": "failed"}
_ORDER_MAIL_LIMIT = 100


@dataclass(frozen=True)
class SentMail:
    """An e-mail about an order as its page lists it."""

    id: int
    template: str
    subject: str
    state: str
    created_at: datetime
    finished_at: datetime | None
    last_error: str | None


def _sent_mail(job: Job) -> SentMail:
    template = str(job.payload.get("template", ""))
    try:
        subject = subject_of(template, job.payload.get("context") or {})
    except (TemplateError, TypeError):
        subject = template.replace("_", " ")
    return SentMail(
        id=job.id,
        template=template,
        subject=subject,
        state=MAIL_STATES.get(job.status, job.status),
        created_at=job.created_at,
        finished_at=job.finished_at,
        last_error=job.last_error,
    )


class NotificationService:
    def queue_email(self, session: AsyncSession, *, to: str, template: str, context: dict[str, Any]) -> None:
        """Render and send later, after the transaction that caused the mail has committed (core/mail.py)."""
        mail.queue_email(session, to=to, template=template, context=context)

    async def mailbox(
        self, session: AsyncSession, page: PageParams, to: str | None
    ) -> tuple[list[DevMailMessage], int]:
        rows, total = await NotificationRepository(session).mailbox(to, limit=page.limit, offset=page.offset)
        return list(rows), total

    async def mailbox_page(
        self, session: AsyncSession, to: str | None, after: str | None, limit: int
    ) -> KeysetPage[DevMailMessage]:
        """The development mailbox newest first, a page at a time (the back office's /admin/mailbox)."""
        cursor = decode_cursor(after)
        rows = await NotificationRepository(session).mailbox_after(to, cursor.id if cursor else None, limit)
        shown = rows[:limit]
        next_cursor = encode_cursor(None, shown[-1].id) if len(rows) > limit and shown else None
        return KeysetPage(rows=shown, next_cursor=next_cursor)

    async def mail_message(self, session: AsyncSession, message_id: int) -> DevMailMessage | None:
        return await NotificationRepository(session).mail_message(message_id)

    async def mail_about_order(self, session: AsyncSession, to: str, number: str) -> list[SentMail]:
        """The e-mails queued for ``to`` about order ``number``, oldest first, each with its state."""
        jobs = await NotificationRepository(session).mail_about_order(to, number, _ORDER_MAIL_LIMIT)
        return [_sent_mail(job) for job in jobs]

    async def resend_last_about_order(self, session: AsyncSession, to: str, number: str) -> SentMail:
        """Queue the last e-mail about an order again, as it was (same template and content; a new
        Message-ID, since it is a new message). NotFound when none was sent."""
        jobs = await NotificationRepository(session).mail_about_order(to, number, _ORDER_MAIL_LIMIT)
        if not jobs:
            raise NotFound(
                "No e-mail about this order is on record: none was sent yet, or it was sent longer ago "
                "than finished jobs are kept (EMPORIUM_JOBS_RETENTION_DAYS)."
            )
        last = jobs[-1]
        context = last.payload.get("context") or {}
        mail.queue_email(session, to=to, template=str(last.payload["template"]), context=dict(context))
        return _sent_mail(last)

    async def erase_mail_to(self, session: AsyncSession, email: str) -> None:
        """Forget what the mailbox and the e-mail jobs hold for an address whose owner asked to be erased."""
        await NotificationRepository(session).erase_mail_to(email)


notifications = NotificationService()
