"""Every SQL statement of the operations domain: probes of the database, and the jobs table as staff
read and repair it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.jobs.models import Job, JobStatus


class OperationsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ping(self) -> None:
        await self.session.execute(text("SELECT 1"))

    async def migration_revisions(self) -> list[str]:
        """The revisions Alembic recorded in the database (one, unless branches were applied unmerged)."""
        rows = await self.session.execute(text("SELECT version_num FROM alembic_version"))
        return sorted(str(value) for value in rows.scalars())

    async def pending_by_kind(self) -> list[tuple[str, int]]:
        rows = await self.session.execute(
            select(Job.name, func.count())
            .where(Job.status == JobStatus.PENDING)
            .group_by(Job.name)
            .order_by(func.count().desc(), Job.name)
        )
        return [(name, int(count)) for name, count in rows.all()]

    async def oldest_pending(self) -> Job | None:
        """The pending job created first (it may wait for a retry's backoff: that is waiting too)."""
        rows = await self.session.execute(
            select(Job).where(Job.status == JobStatus.PENDING).order_by(Job.created_at, Job.id).limit(1)
        )
        return rows.scalars().first()

    async def counts_by_state(self, now: datetime) -> dict[str, int]:
        """How many jobs are pending, running, running past their lease, and dead (done ones are not
        counted: there may be millions)."""
        overdue = func.sum(case((Job.locked_until < now, 1), else_=0))
        rows = await self.session.execute(
            select(Job.status, func.count(), overdue)
            .where(Job.status.in_((JobStatus.PENDING, JobStatus.RUNNING, JobStatus.DEAD)))
            .group_by(Job.status)
        )
        counts = {"pending": 0, "running": 0, "running_overdue": 0, "dead": 0}
        for status, count, late in rows.all():
            counts[str(status)] = int(count)
            if status == JobStatus.RUNNING:
                counts["running_overdue"] = int(late or 0)
        return counts

    async def page(
        self, states: Sequence[str], kind: str | None, after_id: int | None, limit: int
    ) -> list[Job]:
        """Jobs in ``states`` (of ``kind``), newest first, after the job ``after_id``; one more than
        ``limit`` tells that another page follows."""
        query = select(Job).where(Job.status.in_(tuple(states)))
        if kind:
            query = query.where(Job.name == kind)
        if after_id is not None:
            query = query.where(Job.id < after_id)
        rows = await self.session.execute(query.order_by(Job.id.desc()).limit(limit + 1))
        return list(rows.scalars())

    async def job(self, job_id: int) -> Job | None:
        rows = await self.session.execute(
            select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
        )
        return rows.scalars().first()

    async def requeue_dead(self, job_id: int, now: datetime) -> bool:
        """Put a dead job back in the queue with its attempts reset, due now. Conditional on the job
        being dead, so of two retries sent at once only one takes it: False for the other."""
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.DEAD)
            .values(
                status=JobStatus.PENDING,
                attempts=0,
                lapses=0,
                run_after=now,
                finished_at=None,
                locked_until=None,
                claim_token=None,
            )
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none() is not None

    async def delete_dead(self, job_id: int) -> bool:
        """Delete a dead job; False when it is not (or no longer) dead."""
        result = await self.session.execute(
            delete(Job)
            .where(Job.id == job_id, Job.status == JobStatus.DEAD)
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none() is not None

    async def delete_done_before(self, cutoff: datetime, batch: int) -> int:
        """Delete up to ``batch`` done jobs that finished before ``cutoff``; how many.

        A job runs after ``run_after``, so ``run_after < cutoff`` holds for every row taken: it lets the
        (status, run_after) index find them without reading the recent ones."""
        chosen = (
            select(Job.id)
            .where(Job.status == JobStatus.DONE, Job.run_after < cutoff, Job.finished_at < cutoff)
            .limit(batch)
        )
        result = await self.session.execute(
            delete(Job)
            .where(Job.id.in_(chosen.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
