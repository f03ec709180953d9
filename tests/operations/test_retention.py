"""The retention job: done jobs older than EMPORIUM_JOBS_RETENTION_DAYS are deleted in batches by the
registered periodic job; recent done jobs, dead jobs and jobs still to run are kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.jobs import enqueue
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.jobs.registry import HANDLERS
from emporium.core.jobs.schedule import PERIODIC
from emporium.operations.tasks import RETENTION_JOB, purge_done_jobs
from tests.conftest import MakeContext


async def _job(ctx: AppContext, status: JobStatus, finished_days_ago: float | None) -> int:
    async with ctx.db.session() as session:
        job = enqueue(session, "orders.expire_unpaid", {})
        await session.flush()
        values: dict[str, object] = {"status": status}
        if finished_days_ago is not None:
            finished = utcnow() - timedelta(days=finished_days_ago)
            values.update(finished_at=finished, run_after=finished - timedelta(seconds=5))
        await session.execute(update(Job).where(Job.id == job.id).values(**values))
        return job.id


async def _remaining(ctx: AppContext) -> set[int]:
    async with ctx.db.session() as session:
        return set((await session.execute(select(Job.id))).scalars())


async def test_old_done_jobs_go_in_batches_and_nothing_else(make_context: MakeContext) -> None:
    ctx = make_context(jobs_retention_days=14)
    old_done = [await _job(ctx, JobStatus.DONE, 15 + i) for i in range(5)]
    kept = {
        await _job(ctx, JobStatus.DONE, 13),  # finished within the retention
        await _job(ctx, JobStatus.DEAD, 400),  # dead: kept until staff discard it
        await _job(ctx, JobStatus.PENDING, None),
        await _job(ctx, JobStatus.RUNNING, None),
    }
    assert await purge_done_jobs(ctx, batch=2) == 5
    remaining = await _remaining(ctx)
    assert kept <= remaining
    assert not remaining & set(old_done)
    assert await purge_done_jobs(ctx, batch=2) == 0


async def test_the_retention_follows_the_setting(make_context: MakeContext) -> None:
    ctx = make_context(jobs_retention_days=30)
    recent_enough = await _job(ctx, JobStatus.DONE, 20)
    too_old = await _job(ctx, JobStatus.DONE, 31)
    assert await purge_done_jobs(ctx) == 1
    remaining = await _remaining(ctx)
    assert recent_enough in remaining
    assert too_old not in remaining


async def test_the_periodic_job_runs_it(ctx: AppContext) -> None:
    assert PERIODIC[RETENTION_JOB].every_seconds == 3600
    assert RETENTION_JOB in HANDLERS
    old = await _job(ctx, JobStatus.DONE, 20)
    async with ctx.db.session() as session:
        purge = enqueue(session, RETENTION_JOB, {})
        await session.flush()
        purge_id = purge.id
    await ctx.jobs.run_until_idle()
    remaining = await _remaining(ctx)
    assert old not in remaining
    assert purge_id in remaining  # done a moment ago: kept for the retention like any other
