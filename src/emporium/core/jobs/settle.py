"""Marking the running job done from inside its handler, for a handler whose effect cannot be taken back.

Delivery is at least once: a run whose process dies before the runner records its outcome is run again.
For most handlers that is harmless (they check before they act); a handler that hands something to the
outside world (an e-mail to an SMTP server) cannot check, so it records the job as done right after the
world has it, in a short transaction of its own (or in the one that holds its effect). A crash after that
no longer runs it again; only the moment between the hand-over and that commit remains.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import utcnow
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.jobs.registry import CURRENT_CLAIM


async def record_done_now(session: AsyncSession) -> bool:
    """Mark the job whose handler is running as done, in ``session``'s transaction (the caller commits).
    False when no job is running here, or its claim was lost (another run holds the job now)."""
    claim = CURRENT_CLAIM.get()
    if claim is None:
        return False
    result = await session.execute(
        update(Job)
        .where(Job.id == claim.job_id, Job.claim_token == claim.token)
        .values(
            status=JobStatus.DONE,
            finished_at=utcnow(),
            last_error=None,
            locked_until=None,
            claim_token=None,
            # The run reported back: it is no lapse (the runner counts each run as one until then).
            lapses=Job.lapses - 1,
        )
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    claim.settled = result.scalar_one_or_none() is not None
    return claim.settled
