"""Background jobs as staff see them (/admin/jobs): the pending, running and dead ones, newest first;
a dead job retried (its attempts reset, once however often the retry is sent) or discarded, each with its
audit entry; and the retention that deletes done jobs after ``EMPORIUM_JOBS_RETENTION_DAYS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import get_args

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import audit
from emporium.core.db import utcnow
from emporium.core.errors import Conflict, NotFound
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.jobs.outbox import ENQUEUED_FLAG
from emporium.core.jobs.registry import HANDLERS
from emporium.core.keyset import KeysetPage, decode_cursor, encode_cursor
from emporium.operations.errors import OperationsError
from emporium.operations.repository import OperationsRepository
from emporium.operations.schemas import JobRow, JobState

# What the screen lists without a state chosen: the jobs that may need someone (not the done ones).
OPEN_STATES = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.DEAD)
STATES: tuple[str, ...] = get_args(JobState)


def _row(job: Job) -> JobRow:
    return JobRow(
        id=job.id,
        kind=job.name,
        state=job.status,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        run_after=job.run_after,
        created_at=job.created_at,
        finished_at=job.finished_at,
        locked_until=job.locked_until,
        last_error=job.last_error,
    )


class JobsAdmin:
    def kinds(self) -> list[str]:
        """The job names this shop registers (the filter's choices)."""
        return sorted(HANDLERS)

    async def page(
        self, session: AsyncSession, state: str | None, kind: str | None, after: str | None, limit: int
    ) -> KeysetPage[JobRow]:
        """Jobs in ``state`` (every open one when None) of ``kind``, newest first, after the cursor."""
        cursor = decode_cursor(after)
        states: Sequence[str] = (state,) if state else OPEN_STATES
        jobs = await OperationsRepository(session).page(states, kind, cursor.id if cursor else None, limit)
        rows = [_row(job) for job in jobs[:limit]]
        next_cursor = encode_cursor(None, rows[-1].id) if len(jobs) > limit and rows else None
        return KeysetPage(rows=rows, next_cursor=next_cursor)

    async def counts(self, session: AsyncSession) -> dict[str, int]:
        """Pending, running (and of those, past their lease) and dead jobs."""
        return await OperationsRepository(session).counts_by_state(utcnow())

    async def retry(self, session: AsyncSession, actor: Actor, job_id: int) -> JobRow:
        """Queue a dead job again, due now, with its attempts reset. A job that is no longer dead (a
        retry sent twice: the second finds it pending) is refused, so it is queued once."""
        repository = OperationsRepository(session)
        job = await self._dead(repository, job_id)
        before = _row(job)
        if not await repository.requeue_dead(job_id, utcnow()):
            raise _not_dead()
        session.info[ENQUEUED_FLAG] = True  # wakes this process's runner after the commit
        audit.record(
            session,
            actor,
            "job.retried",
            AuditedObject(type="job", id=job_id, label=before.kind),
            {"status": (before.state, JobStatus.PENDING), "attempts": (before.attempts, 0)},
        )
        return before

    async def discard(self, session: AsyncSession, actor: Actor, job_id: int) -> JobRow:
        """Delete a dead job for good (its last error stays in the audit entry)."""
        repository = OperationsRepository(session)
        job = await self._dead(repository, job_id)
        before = _row(job)
        if not await repository.delete_dead(job_id):
            raise _not_dead()
        audit.record(
            session,
            actor,
            "job.discarded",
            AuditedObject(type="job", id=job_id, label=before.kind),
            {"status": (before.state, "discarded"), "last_error": (before.last_error, None)},
        )
        return before

    async def purge_done(self, session: AsyncSession, finished_before: datetime, batch: int) -> int:
        """Delete up to ``batch`` done jobs that finished before ``finished_before``; how many."""
        return await OperationsRepository(session).delete_done_before(finished_before, batch)

    async def _dead(self, repository: OperationsRepository, job_id: int) -> Job:
        job = await repository.job(job_id)
        if job is None:
            raise NotFound("No such job: it may have been discarded.", code=OperationsError.JOB_NOT_FOUND)
        if job.status != JobStatus.DEAD:
            raise _not_dead()
        return job


def _not_dead() -> Conflict:
    return Conflict(
        "This job is not dead any more: it was retried already, or is queued or running. "
        "Nothing was changed.",
        code=OperationsError.JOB_NOT_DEAD,
    )


jobs_admin = JobsAdmin()
