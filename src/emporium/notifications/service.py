"""Notifications: what staff and customers see of what was told (the mailbox, the messages about an order,
the failed deliveries) and the customer's quiet hours. What to tell whom is core/notify.py and planning.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core import mail
from emporium.core.db import utcnow
from emporium.core.errors import NotFound
from emporium.core.keyset import KeysetPage, decode_cursor, encode_cursor
from emporium.core.mail import SEND_EMAIL_JOB
from emporium.core.pagination import PageParams
from emporium.notifications.delivery_repository import DeliveryRepository
from emporium.notifications.email import subject_of
from emporium.notifications.events import EMAIL, EVENTS
from emporium.notifications.models import Delivery, DevMailMessage, Notification
from emporium.notifications.planning import schedule_delivery
from emporium.notifications.preference_repository import PreferenceRepository
from emporium.notifications.repository import NotificationRepository

__all__ = ["SEND_EMAIL_JOB", "NotificationService", "SentMail", "notifications"]

# What staff read for the state of an e-mail's job.
MAIL_STATES = {
    "pending": "queued",
    "deferred": "waiting",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "undelivered": "failed",
    "suppressed": "not sent",
}
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
    channel: str = EMAIL
    to_staff: bool = False


def _sent_mail(delivery: Delivery, note: Notification) -> SentMail:
    spec = EVENTS.get(note.event)
    template = spec.email_template if spec and spec.email_template else note.event
    subject = note.title
    if delivery.channel == EMAIL:
        try:
            subject = subject_of(template, note.context or {})
        except (TemplateError, TypeError):
            subject = template.replace("_", " ")
    return SentMail(
        id=delivery.id,
        template=template,
        subject=subject,
        state=MAIL_STATES.get(delivery.status, delivery.status),
        created_at=delivery.created_at,
        finished_at=delivery.sent_at,
        last_error=delivery.error,
        channel=delivery.channel,
        to_staff=note.category == "staff",
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
        """The e-mails to ``to`` about order ``number``, oldest first, each with its state."""
        rows = await DeliveryRepository(session).about_order(number, _ORDER_MAIL_LIMIT)
        return [_sent_mail(d, n) for d, n in rows if d.channel == EMAIL and d.address == to.lower()]

    async def deliveries_about_order(self, session: AsyncSession, number: str) -> list[SentMail]:
        """Every message about order ``number`` on every channel, oldest first (staff see failures)."""
        return [
            _sent_mail(d, n)
            for d, n in await DeliveryRepository(session).about_order(number, _ORDER_MAIL_LIMIT)
        ]

    async def resend_last_about_order(self, session: AsyncSession, to: str, number: str) -> SentMail:
        """Send the last e-mail about an order again, as it was (same template and content; a new
        Message-ID, since it is a new message). NotFound when none was sent."""
        repo = DeliveryRepository(session)
        rows = [
            (d, n)
            for d, n in await repo.about_order(number, _ORDER_MAIL_LIMIT)
            if d.channel == EMAIL and n.category != "staff"
        ]
        if not rows:
            raise NotFound("No e-mail about this order is on record: none was sent yet.")
        last, note = rows[-1]
        now = utcnow()
        delivery_id = await repo.add_delivery(
            Delivery(
                notification_id=note.id,
                channel=EMAIL,
                idempotency_key=f"{note.event_key}|{note.recipient_key}|{EMAIL}|resent:{uuid.uuid4().hex}",
                address=to.lower(),
                status="pending",
                due_at=now,
                attempts=0,
            )
        )
        schedule_delivery(session, delivery_id, now, now)
        return _sent_mail(last, note)

    async def quiet_hours_of(self, session: AsyncSession, user_id: int) -> dict[str, str | None] | None:
        schedule = await PreferenceRepository(session).schedule(user_id)
        if schedule is None:
            return None
        return {"quiet_hours": schedule.quiet_hours, "time_zone": schedule.time_zone}

    async def set_quiet_hours(
        self, session: AsyncSession, user_id: int, quiet_hours: str | None, time_zone: str | None
    ) -> None:
        """A customer's own quiet hours (None: the shop's; empty: none) and time zone (None: the shop's)."""
        await PreferenceRepository(session).put_schedule(user_id, quiet_hours, time_zone)

    async def export_told(self, session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
        return [
            {
                "event": n.event,
                "title": n.title,
                "body": n.body,
                "created_at": n.created_at.isoformat(),
                "read_at": n.read_at.isoformat() if n.read_at else None,
            }
            for n in await DeliveryRepository(session).told(user_id)
        ]

    async def erase_told(self, session: AsyncSession, user_id: int, email: str) -> None:
        await DeliveryRepository(session).erase_for(user_id, email)

    async def erase_mail_to(self, session: AsyncSession, email: str) -> None:
        """Forget what the mailbox and the e-mail jobs hold for an address whose owner asked to be erased."""
        await NotificationRepository(session).erase_mail_to(email)


notifications = NotificationService()
