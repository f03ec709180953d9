"""`emporium worker` on a real Redis and a real RabbitMQ: it stays up while idle, runs what comes, stops on
SIGTERM once the job in hand is done; and it outlives a restart of its Redis."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aiosmtpd.controller import Controller
from redis.asyncio import Redis
from sqlalchemy import select

from emporium.core.db import Database
from emporium.core.jobs.models import Job, JobStatus
from emporium.notifications.service import SEND_EMAIL_JOB, notifications
from emporium.settings import AppSettings
from tests.core.processes import EMPORIUM, background, output_of, process_env
from tests.core.test_broker import WELCOME, statuses, wait_for_done
from tests.support import MailSink, SmtpServer, free_port

QUEUE = "emporium:worker-test-jobs"
REDIS_URL = "redis://127.0.0.1:6379/11"  # no other test uses this database
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
# The old workers died after 5-7 s of an empty Redis queue (and at once on RabbitMQ).
IDLE_SECONDS = 12
SLOW_SMTP_SECONDS = 3


async def _clear_redis(url: str) -> None:
    client = Redis.from_url(url)
    try:
        await client.delete(QUEUE)
    finally:
        await client.aclose()


async def _clear_rabbitmq() -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for queue in (QUEUE, f"{QUEUE}.dead_letter"):
            await channel.queue_delete(queue)
        await channel.exchange_delete(QUEUE)


@pytest.fixture(params=["redis", "amqp"])
async def broker_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    clear = (lambda: _clear_redis(REDIS_URL)) if request.param == "redis" else _clear_rabbitmq
    url = REDIS_URL if request.param == "redis" else AMQP_URL
    try:
        await clear()
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.fail(f"{request.param} is not reachable on 127.0.0.1 ({exc}); start it as the README says")
    yield url
    await clear()


async def queue_welcome(db: Database, address: str) -> None:
    async with db.session() as session:
        notifications.queue_email(session, to=address, template="welcome", context=WELCOME)


async def stop_cleanly(worker: asyncio.subprocess.Process, tmp_path: Path, within: float = 5) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(worker.wait(), within)
    except TimeoutError:
        raise AssertionError(f"no stop within {within} s of SIGTERM\n" + output_of(tmp_path)) from None
    assert worker.returncode == 0, output_of(tmp_path)


async def test_an_idle_worker_stays_up_runs_a_job_and_stops_on_sigterm(
    broker_url: str, committed_db: Database, settings: AppSettings, smtp: SmtpServer, tmp_path: Path
) -> None:
    env = process_env(settings, smtp, EMPORIUM_JOBS_BROKER_URL=broker_url, EMPORIUM_JOBS_BROKER_QUEUE=QUEUE)
    async with background([EMPORIUM, "worker"], env, tmp_path) as worker:
        await asyncio.sleep(IDLE_SECONDS)
        assert worker.returncode is None, output_of(tmp_path)
        # The SMTP test server is the session's: an address of this test's own.
        address = f"idle-{broker_url.split(':')[0]}@example.com"
        await queue_welcome(committed_db, address)
        assert await wait_for_done(committed_db, 1) == [(JobStatus.DONE, 1)], output_of(tmp_path)
        await stop_cleanly(worker, tmp_path)
    assert len(smtp.sink.to(address)) == 1


class SlowSink(MailSink):
    """Takes a while to accept each message, so a job is in hand when the worker is told to stop."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(SLOW_SMTP_SECONDS)
        return await super().handle_DATA(server, session, envelope)


async def job_started(db: Database, seconds: float = 20) -> bool:
    """Whether the e-mail job's run began (a run counts as a lapse until its outcome is recorded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        async with db.session() as session:
            if await session.scalar(select(Job.id).where(Job.name == SEND_EMAIL_JOB, Job.lapses == 1)):
                return True
        await asyncio.sleep(0.1)
    return False


async def test_sigterm_lets_the_job_in_hand_finish(
    committed_db: Database, settings: AppSettings, tmp_path: Path
) -> None:
    await _clear_redis(REDIS_URL)
    smtp = SmtpServer()
    smtp.sink = SlowSink()
    smtp.controller = Controller(smtp.sink, hostname="127.0.0.1", port=smtp.port, server_hostname="localhost")
    smtp.start()
    try:
        env = process_env(
            settings, smtp, EMPORIUM_JOBS_BROKER_URL=REDIS_URL, EMPORIUM_JOBS_BROKER_QUEUE=QUEUE
        )
        async with background([EMPORIUM, "worker"], env, tmp_path) as worker:
            await queue_welcome(committed_db, "in-hand@example.com")
            assert await job_started(committed_db), output_of(tmp_path)
            assert smtp.sink.messages == []
            await stop_cleanly(worker, tmp_path, within=SLOW_SMTP_SECONDS + 5)
        assert await statuses(committed_db) == [(JobStatus.DONE, 1)]
        assert len(smtp.sink.to("in-hand@example.com")) == 1
    finally:
        smtp.stop()
        await _clear_redis(REDIS_URL)


def start_redis(port: int, directory: Path) -> subprocess.Popen[bytes]:
    """A redis-server of this test's own (the shared one is never restarted)."""
    return subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
    )


def stop_redis(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        server.wait(10)


async def wait_for_redis(url: str, seconds: float = 10) -> None:
    client = Redis.from_url(url)
    try:
        for _ in range(int(seconds * 10)):
            with contextlib.suppress(Exception):
                if await client.ping():
                    return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{url} did not answer within {seconds} s")
    finally:
        await client.aclose()


async def test_the_worker_reconnects_after_its_redis_restarts(
    committed_db: Database, settings: AppSettings, smtp: SmtpServer, tmp_path: Path
) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    env = process_env(settings, smtp, EMPORIUM_JOBS_BROKER_URL=url, EMPORIUM_JOBS_BROKER_QUEUE=QUEUE)
    servers = [start_redis(port, tmp_path)]
    try:
        await wait_for_redis(url)
        async with background([EMPORIUM, "worker"], env, tmp_path) as worker:
            await queue_welcome(committed_db, "before@example.com")
            assert await wait_for_done(committed_db, 1) == [(JobStatus.DONE, 1)], output_of(tmp_path)

            stop_redis(servers[0])
            # Queued while Redis is down: the worker's relay cannot hand it over and keeps trying.
            await queue_welcome(committed_db, "during@example.com")
            await asyncio.sleep(2)
            assert worker.returncode is None, output_of(tmp_path)
            servers.append(start_redis(port, tmp_path))
            await wait_for_redis(url)

            await queue_welcome(committed_db, "after@example.com")
            found = await wait_for_done(committed_db, 3)
            assert found == [(JobStatus.DONE, 1)] * 3, output_of(tmp_path)
            await stop_cleanly(worker, tmp_path)
    finally:
        for server in servers:
            stop_redis(server)
    for address in ("during@example.com", "after@example.com"):
        assert len(smtp.sink.to(address)) == 1, address
