"""Every SQL statement of the notifications domain: the development mailbox and the e-mail jobs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Text, and_, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import utcnow
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.mail import SEND_EMAIL_JOB
from emporium.core.notify import PLAN_JOB
from emporium.notifications.models import DevMailMessage

ERASED_PAYLOAD = {"erased": True}


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def mailbox(
        self, to: str | None, *, limit: int, offset: int
    ) -> tuple[Sequence[DevMailMessage], int]:
        """Mail newest first (to one address when ``to`` is given), and how many there are in all."""
        query = select(DevMailMessage)
        if to:
            query = query.where(DevMailMessage.to_address == to.lower())
        total = (await self.session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = await self.session.execute(
            query.order_by(DevMailMessage.id.desc()).offset(offset).limit(limit)
        )
        return rows.scalars().all(), int(total)

    async def mailbox_after(self, to: str | None, after_id: int | None, limit: int) -> list[DevMailMessage]:
        """Mail newest first (to one address when ``to`` is given) older than ``after_id``; one more than
        ``limit`` tells that another page follows."""
        query = select(DevMailMessage)
        if to:
            query = query.where(DevMailMessage.to_address == to.lower())
        if after_id is not None:
            query = query.where(DevMailMessage.id < after_id)
        rows = await self.session.execute(query.order_by(DevMailMessage.id.desc()).limit(limit + 1))
        return list(rows.scalars())

    async def mail_message(self, message_id: int) -> DevMailMessage | None:
        return await self.session.get(DevMailMessage, message_id)

    async def erase_mail_to(self, email: str) -> None:
        """Forget the mail kept for ``email`` and the e-mail jobs addressed to it: mail not sent yet is not
        sent at all, and every job, sent or not, loses the address and the details it carried."""
        await self.session.execute(delete(DevMailMessage).where(DevMailMessage.to_address == email))
        # Planning jobs name their recipients in a list: found by the address anywhere in the payload.
        addressed = or_(
            and_(Job.name == SEND_EMAIL_JOB, Job.payload["to"].as_string() == email),
            and_(Job.name == PLAN_JOB, cast(Job.payload, Text).contains(f'"{email}"')),
        )
        await self.session.execute(
            update(Job)
            .where(addressed, Job.status == JobStatus.PENDING)
            .values(status=JobStatus.DEAD, finished_at=utcnow(), last_error="recipient erased their account")
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(Job)
            .where(addressed)
            .values(payload=ERASED_PAYLOAD)
            .execution_options(synchronize_session=False)
        )

    async def mail_about_order(self, to: str, number: str, limit: int) -> list[Job]:
        """The e-mail jobs sent to ``to`` about order ``number`` (their context names it), oldest first."""
        result = await self.session.execute(
            select(Job)
            .where(
                Job.name == SEND_EMAIL_JOB,
                Job.payload["to"].as_string() == to,
                Job.payload[("context", "number")].as_string() == number,
            )
            .order_by(Job.id)
            .limit(limit)
        )
        return list(result.scalars())
