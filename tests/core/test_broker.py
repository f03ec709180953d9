"""Broker mode: claimed jobs travel through Redis (taskiq-redis) to `emporium worker` processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from emporium.core.db import Database
from emporium.core.jobs.models import Job, JobStatus
from emporium.notifications.service import SEND_EMAIL_JOB, notifications
from emporium.settings import AppSettings
from tests.conftest import MakeContext
from tests.core.processes import EMPORIUM, background, output_of, process_env, run_worker_once
from tests.support import SmtpServer

BROKER_URL = "redis://127.0.0.1:6379/15"
QUEUE = "emporium:jobs"
WELCOME = {"shop_name": "Emporium", "first_name": "Bea"}


@pytest.fixture
async def redis_queue() -> AsyncIterator[Redis]:
    client = Redis.from_url(BROKER_URL)
    try:
        await client.ping()
    except Exception as exc:  # pragma: no cover - depends on the machine
        await client.aclose()
        pytest.fail(f"Redis is not running on 127.0.0.1:6379 ({exc}); start it as the README says")
    await client.delete(QUEUE)
    yield client
    await client.delete(QUEUE)
    await client.aclose()


async def statuses(db: Database) -> list[tuple[str, int]]:
    """The e-mail jobs' states (a worker also enqueues the periodic jobs, which are not counted here)."""
    async with db.session() as session:
        rows = await session.execute(
            select(Job.status, Job.attempts).where(Job.name == SEND_EMAIL_JOB).order_by(Job.id)
        )
        return [(status, attempts) for status, attempts in rows.all()]


async def wait_for_done(db: Database, count: int, seconds: float = 20) -> list[tuple[str, int]]:
    deadline = time.monotonic() + seconds
    found = await statuses(db)
    while time.monotonic() < deadline:
        found = await statuses(db)
        if len(found) == count and all(status == JobStatus.DONE for status, _ in found):
            break
        await asyncio.sleep(0.2)
    return found


async def test_worker_consumes_jobs_relayed_through_redis(
    committed_db: Database,
    make_committed_context: MakeContext,
    redis_queue: Redis,
    settings: AppSettings,
    smtp: SmtpServer,
    tmp_path: Path,
) -> None:
    relay = make_committed_context(jobs_broker_url=BROKER_URL)
    assert not relay.jobs.in_process
    async with committed_db.session() as session:
        for n in range(3):
            notifications.queue_email(
                session, to=f"broker{n}@example.com", template="welcome", context=WELCOME
            )

    # This process claims the jobs and hands them to Redis; it runs none of them itself.
    assert await relay.jobs.run_once() == 3
    assert await redis_queue.llen(QUEUE) == 3
    assert await statuses(committed_db) == [(JobStatus.RUNNING, 1)] * 3
    assert smtp.sink.messages == []

    env = process_env(settings, smtp, EMPORIUM_JOBS_BROKER_URL=BROKER_URL)
    async with background([EMPORIUM, "worker", "--concurrency", "2"], env, tmp_path) as worker:
        found = await wait_for_done(committed_db, 3)
        assert found == [(JobStatus.DONE, 1)] * 3, output_of(tmp_path)
        assert worker.returncode is None, output_of(tmp_path)
        # The worker also relays: a job queued now reaches it without this process's help.
        async with committed_db.session() as session:
            notifications.queue_email(session, to="late@example.com", template="welcome", context=WELCOME)
        found = await wait_for_done(committed_db, 4)
        assert found == [(JobStatus.DONE, 1)] * 4, output_of(tmp_path)
    assert worker.returncode == 0, output_of(tmp_path)  # SIGTERM is a clean stop

    assert await redis_queue.llen(QUEUE) == 0
    for address in ("broker0@example.com", "broker1@example.com", "broker2@example.com", "late@example.com"):
        assert len(smtp.sink.to(address)) == 1, address


async def test_worker_once_runs_the_jobs_itself_even_with_a_broker(
    committed_db: Database, redis_queue: Redis, settings: AppSettings, smtp: SmtpServer, tmp_path: Path
) -> None:
    async with committed_db.session() as session:
        notifications.queue_email(session, to="once@example.com", template="welcome", context=WELCOME)
    env = process_env(settings, smtp, EMPORIUM_JOBS_BROKER_URL=BROKER_URL)
    assert await run_worker_once(env, tmp_path) == 1
    assert await statuses(committed_db) == [(JobStatus.DONE, 1)]
    assert len(smtp.sink.to("once@example.com")) == 1
    assert await redis_queue.llen(QUEUE) == 0
