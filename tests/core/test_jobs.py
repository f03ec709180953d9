"""The outbox runner: retries with backoff, dead letters, lapsed claims and concurrent claimers."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from taskiq.exceptions import SendTaskError

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.core.db import Database, utcnow
from emporium.core.jobs import PermanentJobError, enqueue, register_job
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.jobs.runner import MAX_LAPSES
from tests.conftest import MakeContext, sign_up
from tests.support import SmtpServer, asgi_client, free_port

CALLS: Counter[str] = Counter()
SEEN: list[dict[str, Any]] = []


async def _ok(ctx: AppContext, payload: dict[str, Any]) -> None:
    CALLS["test.ok"] += 1
    SEEN.append(payload)


async def _flaky(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Fails until it has been called ``fail_times`` times for this key."""
    key = f"test.flaky:{payload['key']}"
    CALLS[key] += 1
    if CALLS[key] <= payload["fail_times"]:
        raise RuntimeError(f"flaky failure {CALLS[key]}")


async def _permanent(ctx: AppContext, payload: dict[str, Any]) -> None:
    CALLS["test.permanent"] += 1
    raise PermanentJobError("the order is gone")


async def _limited(ctx: AppContext, payload: dict[str, Any]) -> None:
    CALLS["test.limited"] += 1
    raise RuntimeError("always")


@pytest.fixture(autouse=True)
def _test_jobs() -> None:
    register_job("test.ok", _ok)
    register_job("test.flaky", _flaky)
    register_job("test.permanent", _permanent)
    register_job("test.limited", _limited, max_attempts=2)
    register_job("test.slow", _slow)
    CALLS.clear()
    SEEN.clear()


async def add_job(ctx: AppContext, name: str, payload: dict[str, Any], **options: Any) -> int:
    async with ctx.db.session() as session:
        row = enqueue(session, name, payload, **options)
        await session.flush()
        return row.id


async def load(ctx: AppContext, job_id: int) -> Job:
    async with ctx.db.session() as session:
        row = await session.get(Job, job_id, populate_existing=True)
        assert row is not None
        return row


async def test_a_job_that_succeeds_ends_done(ctx: AppContext) -> None:
    job_id = await add_job(ctx, "test.ok", {"n": 1})
    assert (await load(ctx, job_id)).status == JobStatus.PENDING
    assert await ctx.jobs.run_until_idle() == 1
    row = await load(ctx, job_id)
    assert (row.status, row.attempts, row.last_error) == (JobStatus.DONE, 1, None)
    assert row.finished_at is not None
    assert row.locked_until is None
    assert row.claim_token is None
    assert SEEN == [{"n": 1}]
    assert await ctx.jobs.run_until_idle() == 0
    assert CALLS["test.ok"] == 1


async def test_a_failing_job_is_retried_later_with_backoff(make_context: MakeContext) -> None:
    ctx = make_context(jobs_backoff_base_seconds=10, jobs_backoff_max_seconds=3600)
    job_id = await add_job(ctx, "test.flaky", {"key": "backoff", "fail_times": 1})
    before = utcnow()
    assert await ctx.jobs.run_until_idle() == 1
    row = await load(ctx, job_id)
    assert row.status == JobStatus.PENDING
    assert row.attempts == 1
    assert row.last_error is not None
    assert "flaky failure 1" in row.last_error
    assert row.claim_token is None
    assert row.locked_until is None
    # 10 s for the first retry, with up to 20 % jitter either way.
    assert before + timedelta(seconds=7.9) <= row.run_after <= utcnow() + timedelta(seconds=12.1)
    # Not due yet: nothing runs.
    assert await ctx.jobs.run_until_idle() == 0
    assert CALLS["test.flaky:backoff"] == 1

    async with ctx.db.session() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(run_after=utcnow()))
    assert await ctx.jobs.run_until_idle() == 1
    row = await load(ctx, job_id)
    assert (row.status, row.attempts, row.last_error) == (JobStatus.DONE, 2, None)


async def test_a_job_that_keeps_failing_ends_dead_after_max_attempts(ctx: AppContext) -> None:
    job_id = await add_job(ctx, "test.flaky", {"key": "dead", "fail_times": 99}, max_attempts=3)
    await ctx.jobs.run_until_idle()
    row = await load(ctx, job_id)
    assert row.status == JobStatus.DEAD
    assert row.attempts == 3
    assert row.last_error is not None
    assert "flaky failure 3" in row.last_error
    assert row.finished_at is not None
    assert CALLS["test.flaky:dead"] == 3
    assert await ctx.jobs.run_until_idle() == 0


async def test_max_attempts_comes_from_the_call_then_the_handler_then_the_settings(
    ctx: AppContext,
) -> None:
    limited = await add_job(ctx, "test.limited", {})
    default = await add_job(ctx, "test.flaky", {"key": "settings", "fail_times": 99})
    explicit = await add_job(ctx, "test.limited", {}, max_attempts=3)
    assert (await load(ctx, limited)).max_attempts == 2
    assert (await load(ctx, default)).max_attempts == ctx.settings.jobs_max_attempts
    assert (await load(ctx, explicit)).max_attempts == 3
    await ctx.jobs.run_until_idle()
    assert CALLS["test.limited"] == 2 + 3
    assert (await load(ctx, limited)).status == JobStatus.DEAD


async def test_a_job_that_eventually_succeeds_ends_done(ctx: AppContext) -> None:
    job_id = await add_job(ctx, "test.flaky", {"key": "recovers", "fail_times": 2}, max_attempts=5)
    await ctx.jobs.run_until_idle()
    row = await load(ctx, job_id)
    assert (row.status, row.attempts, row.last_error) == (JobStatus.DONE, 3, None)


async def test_a_permanent_error_goes_straight_to_dead(ctx: AppContext) -> None:
    job_id = await add_job(ctx, "test.permanent", {}, max_attempts=5)
    await ctx.jobs.run_until_idle()
    row = await load(ctx, job_id)
    assert (row.status, row.attempts) == (JobStatus.DEAD, 1)
    assert row.last_error == "PermanentJobError: the order is gone"
    assert CALLS["test.permanent"] == 1


async def test_a_job_without_a_handler_is_dead(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        row = Job(name="test.nobody-handles-this", payload={}, max_attempts=5)
        session.add(row)
        await session.flush()
        job_id = row.id
    await ctx.jobs.run_until_idle()
    row = await load(ctx, job_id)
    assert (row.status, row.attempts) == (JobStatus.DEAD, 1)
    assert row.last_error is not None
    assert "test.nobody-handles-this" in row.last_error


async def test_enqueue_refuses_an_unknown_job(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        with pytest.raises(LookupError):
            enqueue(session, "test.unknown", {})


async def test_a_delayed_job_waits(ctx: AppContext) -> None:
    job_id = await add_job(ctx, "test.ok", {}, delay_seconds=60)
    assert await ctx.jobs.run_until_idle() == 0
    assert (await load(ctx, job_id)).status == JobStatus.PENDING


async def _set_claim(ctx: AppContext, job_id: int, locked_until_offset: float, attempts: int) -> None:
    async with ctx.db.session() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status=JobStatus.RUNNING,
                attempts=attempts,
                claim_token="a" * 32,
                locked_until=utcnow() + timedelta(seconds=locked_until_offset),
            )
        )


async def test_a_lapsed_claim_is_claimed_again(ctx: AppContext) -> None:
    job_id = await add_job(ctx, "test.ok", {"lapsed": True}, max_attempts=3)
    await _set_claim(ctx, job_id, -1, attempts=1)
    claimed = await ctx.jobs.claim()
    assert [job_id for job_id, _ in claimed] == [job_id]
    token = claimed[0][1]
    assert token != "a" * 32
    row = await load(ctx, job_id)
    # Sent again as the same attempt: the claim lapsed, no handler failed.
    assert (row.status, row.attempts, row.claim_token) == (JobStatus.RUNNING, 1, token)
    assert row.locked_until is not None
    assert row.locked_until > utcnow() + timedelta(seconds=ctx.settings.jobs_lease_seconds - 60)
    await ctx.jobs.dispatch(claimed)
    assert (await load(ctx, job_id)).status == JobStatus.DONE
    assert SEEN == [{"lapsed": True}]


async def test_a_live_claim_is_left_alone(ctx: AppContext) -> None:
    job_id = await add_job(ctx, "test.ok", {})
    await _set_claim(ctx, job_id, 60, attempts=1)
    assert await ctx.jobs.claim() == []
    assert (await load(ctx, job_id)).claim_token == "a" * 32


async def test_a_claim_that_lapsed_on_the_last_attempt_is_sent_again(ctx: AppContext) -> None:
    job_id = await add_job(ctx, "test.ok", {}, max_attempts=2)
    await _set_claim(ctx, job_id, -1, attempts=2)
    assert await ctx.jobs.run_until_idle() == 1
    row = await load(ctx, job_id)
    assert (row.status, row.attempts, row.lapses) == (JobStatus.DONE, 2, 0)
    assert CALLS["test.ok"] == 1


async def test_claims_that_lapse_with_no_worker_up_count_nothing(ctx: AppContext) -> None:
    job_id = await add_job(ctx, "test.ok", {}, max_attempts=1)
    for _ in range(MAX_LAPSES + 3):
        # Claimed and sent, but no worker takes the message before the lease ends.
        assert [claimed for claimed, _ in await ctx.jobs.claim()] == [job_id]
        async with ctx.db.session() as session:
            await session.execute(update(Job).where(Job.id == job_id).values(locked_until=utcnow()))
    row = await load(ctx, job_id)
    assert (row.status, row.attempts, row.lapses) == (JobStatus.RUNNING, 1, 0)
    assert await ctx.jobs.run_until_idle() == 1
    assert (await load(ctx, job_id)).status == JobStatus.DONE


async def test_claims_the_broker_refused_are_sent_again_next_round(
    ctx: AppContext, make_context: MakeContext
) -> None:
    job_id = await add_job(ctx, "test.ok", {})
    # A broker nobody listens on: handing it the claim fails (a Redis restarting, say).
    down = make_context(jobs_broker_url=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(SendTaskError):
        await down.jobs.run_once()
    row = await load(ctx, job_id)
    assert (row.status, row.attempts) == (JobStatus.RUNNING, 1)
    assert row.locked_until is not None
    assert row.locked_until <= utcnow()  # not held for the whole lease
    assert await ctx.jobs.run_until_idle() == 1
    row = await load(ctx, job_id)
    assert (row.status, row.attempts, row.lapses) == (JobStatus.DONE, 1, 0)


async def _dies(ctx: AppContext, payload: dict[str, Any]) -> None:
    CALLS["test.dies"] += 1
    if CALLS["test.dies"] <= payload["deaths"]:
        raise SystemExit(1)  # as if the worker process were killed in the middle of the job


async def _kill_worker_during(ctx: AppContext, job_id: int) -> None:
    [(claimed, token)] = await ctx.jobs.claim()
    assert claimed == job_id
    with pytest.raises(SystemExit):
        await ctx.jobs.execute(job_id, token)
    async with ctx.db.session() as session:  # the lease runs out
        await session.execute(update(Job).where(Job.id == job_id).values(locked_until=utcnow()))


async def test_a_run_cut_short_is_a_lapse_not_an_attempt(ctx: AppContext) -> None:
    register_job("test.dies", _dies)
    job_id = await add_job(ctx, "test.dies", {"deaths": 2}, max_attempts=1)
    for lapses in (1, 2):
        await _kill_worker_during(ctx, job_id)
        row = await load(ctx, job_id)
        assert (row.status, row.attempts, row.lapses) == (JobStatus.RUNNING, 1, lapses)
    assert await ctx.jobs.run_until_idle() == 1
    row = await load(ctx, job_id)
    assert (row.status, row.attempts, row.lapses, row.last_error) == (JobStatus.DONE, 1, 2, None)


async def test_a_job_that_keeps_killing_its_worker_ends_dead(ctx: AppContext) -> None:
    register_job("test.dies", _dies)
    job_id = await add_job(ctx, "test.dies", {"deaths": 99}, max_attempts=3)
    for _ in range(MAX_LAPSES):
        await _kill_worker_during(ctx, job_id)
    assert await ctx.jobs.claim() == []
    row = await load(ctx, job_id)
    assert (row.status, row.attempts, row.lapses) == (JobStatus.DEAD, 1, MAX_LAPSES)
    assert row.last_error == f"its run was cut short {MAX_LAPSES} times (the worker died or was killed)"
    assert CALLS["test.dies"] == MAX_LAPSES


async def test_a_stale_delivery_neither_runs_nor_overwrites(ctx: AppContext) -> None:
    job_id = await add_job(ctx, "test.ok", {})
    [(_, old_token)] = await ctx.jobs.claim()
    async with ctx.db.session() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(locked_until=utcnow()))
    [(_, new_token)] = await ctx.jobs.claim()
    assert new_token != old_token
    await ctx.jobs.execute(job_id, old_token)
    assert CALLS["test.ok"] == 0
    row = await load(ctx, job_id)
    assert (row.status, row.claim_token) == (JobStatus.RUNNING, new_token)
    await ctx.jobs.execute(job_id, new_token)
    assert (await load(ctx, job_id)).status == JobStatus.DONE
    assert CALLS["test.ok"] == 1


def test_backoff_doubles_and_is_capped(make_context: MakeContext) -> None:
    runner = make_context(jobs_backoff_base_seconds=10, jobs_backoff_max_seconds=100).jobs
    for attempts, nominal in ((1, 10), (2, 20), (3, 40), (4, 80)):
        for _ in range(20):
            assert nominal * 0.8 <= runner.backoff_seconds(attempts) <= nominal * 1.2
    for _ in range(50):
        assert runner.backoff_seconds(30) <= 100


async def test_committing_a_job_wakes_the_relay(ctx: AppContext) -> None:
    ctx.jobs._wake.clear()
    async with ctx.db.session() as session:
        enqueue(session, "test.ok", {})
    assert ctx.jobs._wake.is_set()


async def test_concurrent_claimers_never_share_a_job(
    committed_db: Database, make_committed_context: MakeContext
) -> None:
    contexts = [make_committed_context() for _ in range(4)]
    async with committed_db.session() as session:
        for n in range(60):
            enqueue(session, "test.ok", {"n": n})
    seen: Counter[int] = Counter()
    for _ in range(10):
        rounds = await asyncio.gather(*(c.jobs.claim(limit=7) for c in contexts for _ in range(2)))
        for claimed in rounds:
            seen.update(job_id for job_id, _ in claimed)
        if sum(seen.values()) >= 60:
            break
    assert len(seen) == 60
    assert max(seen.values()) == 1, [job_id for job_id, n in seen.items() if n > 1]
    async with committed_db.session() as session:
        rows = (await session.execute(select(Job.status, Job.attempts))).all()
    assert {(status, attempts) for status, attempts in rows} == {(JobStatus.RUNNING, 1)}


async def test_two_runners_on_one_job_run_it_once(
    committed_db: Database, make_committed_context: MakeContext
) -> None:
    first, second = (make_committed_context() for _ in range(2))
    async with committed_db.session() as session:
        enqueue(session, "test.ok", {"once": True})
    counts = await asyncio.gather(first.jobs.run_until_idle(), second.jobs.run_until_idle())
    assert sorted(counts) == [0, 1]
    assert CALLS["test.ok"] == 1
    async with committed_db.session() as session:
        assert (await session.execute(select(Job.status))).scalars().all() == [JobStatus.DONE]


def test_an_unknown_broker_is_refused_at_startup(make_context: MakeContext) -> None:
    with pytest.raises(ValueError, match="EMPORIUM_JOBS_BROKER_URL"):
        make_context(jobs_broker_url="kafka://127.0.0.1:9092")


async def _slow(ctx: AppContext, payload: dict[str, Any]) -> None:
    CALLS["test.slow"] += 1
    await asyncio.sleep(payload["seconds"])


async def test_a_job_running_past_its_lease_is_abandoned_and_retried(make_context: MakeContext) -> None:
    ctx = make_context(jobs_lease_seconds=0.3, jobs_backoff_base_seconds=60)
    job_id = await add_job(ctx, "test.slow", {"seconds": 30})
    started = asyncio.get_running_loop().time()
    await ctx.jobs.run_until_idle()
    assert asyncio.get_running_loop().time() - started < 5
    row = await load(ctx, job_id)
    assert (row.status, row.attempts) == (JobStatus.PENDING, 1)
    assert row.last_error == "TimeoutError: still running when its 0.3 s lease ended"


async def test_the_in_process_relay_delivers_after_the_request_commits(
    make_committed_context: MakeContext, committed_db: Database, smtp: SmtpServer
) -> None:
    """The default mode: the web process runs the jobs itself, woken by the commit (no polling wait)."""
    ctx = make_committed_context(jobs_run_in_process=True, jobs_poll_seconds=30)
    app = create_app(ctx=ctx)
    async with app.router.lifespan_context(app), asgi_client(app) as http:
        await asyncio.sleep(0.1)  # the relay has found nothing and sleeps until woken
        await sign_up(http, "inproc@example.com")
        # A bound, not a timing claim: it returns as soon as both mails arrived (a busy machine is slow).
        for _ in range(400):
            if len(smtp.sink.to("inproc@example.com")) == 2:
                break
            await asyncio.sleep(0.05)
    assert sorted(m.subject for m in smtp.sink.to("inproc@example.com")) == [
        "Confirm your e-mail address",
        "Welcome to Emporium",
    ]
    async with committed_db.session() as session:
        assert set((await session.execute(select(Job.status))).scalars()) == {JobStatus.DONE}
