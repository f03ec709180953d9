"""A handler that records its job done itself (core/jobs/settle.py): a failure after that repeats nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

from emporium.core.context import AppContext
from emporium.core.db import Database
from emporium.core.jobs import enqueue, record_done_now, register_job
from emporium.core.jobs.models import Job, JobStatus

CALLS: Counter[str] = Counter()


async def _hands_over_then_fails(ctx: AppContext, payload: dict[str, Any]) -> None:
    CALLS["handed over"] += 1
    async with ctx.db.session() as session:
        assert await record_done_now(session)
    raise ConnectionResetError("the server hung up after taking it")


async def _fails_before_handing_over(ctx: AppContext, payload: dict[str, Any]) -> None:
    CALLS["not handed over"] += 1
    async with ctx.db.session() as session:
        await record_done_now(session)
        raise ConnectionResetError("the commit never happened")


async def _run(ctx: AppContext, name: str) -> Job:
    async with ctx.db.session() as session:
        job = enqueue(session, name, {})
        await session.flush()
        job_id = job.id
    await ctx.jobs.run_until_idle()
    async with ctx.db.session() as session:
        row = await session.get(Job, job_id, populate_existing=True)
        assert row is not None
        return row


async def test_a_job_recorded_done_stays_done_whatever_its_handler_does_next(ctx: AppContext) -> None:
    register_job("test.hands_over", _hands_over_then_fails)
    CALLS.clear()
    job = await _run(ctx, "test.hands_over")
    assert (job.status, job.attempts, job.lapses, job.claim_token, job.last_error) == (
        JobStatus.DONE,
        1,
        0,
        None,
        None,
    )
    assert await ctx.jobs.run_until_idle() == 0
    assert CALLS["handed over"] == 1


async def test_a_mark_that_was_rolled_back_leaves_the_job_to_be_retried(ctx: AppContext) -> None:
    register_job("test.not_handed_over", _fails_before_handing_over, max_attempts=3)
    CALLS.clear()
    job = await _run(ctx, "test.not_handed_over")
    # Retried at once (the tests' backoff is 0) until out of attempts, like any failing job.
    assert (job.status, job.attempts, job.lapses) == (JobStatus.DEAD, 3, 0)
    assert job.last_error == "ConnectionResetError: the commit never happened"
    assert CALLS["not handed over"] == 3


async def test_outside_a_job_there_is_nothing_to_mark(db: Database) -> None:
    async with db.session() as session:
        assert await record_done_now(session) is False
