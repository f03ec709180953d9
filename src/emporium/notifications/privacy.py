"""Personal data the notifications domain holds: mail in the development mailbox and e-mail jobs."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import User
from emporium.core.db import utcnow
from emporium.core.jobs.models import Job, JobStatus
from emporium.notifications.models import DevMailMessage
from emporium.notifications.service import SEND_EMAIL_JOB

ERASED_PAYLOAD = {"erased": True}


async def erase_notifications(session: AsyncSession, user: User) -> None:
    await session.execute(delete(DevMailMessage).where(DevMailMessage.to_address == user.email))
    addressed_to_user = (Job.name == SEND_EMAIL_JOB, Job.payload["to"].as_string() == user.email)
    # Mail not sent yet is not sent at all: its recipient asked to be forgotten.
    await session.execute(
        update(Job)
        .where(*addressed_to_user, Job.status == JobStatus.PENDING)
        .values(status=JobStatus.DEAD, finished_at=utcnow(), last_error="recipient erased their account")
        .execution_options(synchronize_session=False)
    )
    # Every e-mail job for them, sent or not, forgets the address and the personal details it carried.
    await session.execute(
        update(Job)
        .where(*addressed_to_user)
        .values(payload=ERASED_PAYLOAD)
        .execution_options(synchronize_session=False)
    )
