"""Periodic jobs across real processes: one run per period however many workers and web processes look,
and runs still when only web processes are up (a broker configured, no `emporium worker` consuming it)."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from emporium.core.db import Database
from emporium.core.jobs.models import Job, JobStatus
from emporium.install import wire
from emporium.settings import AppSettings
from emporium.wiring import Wiring
from tests.core.processes import HERE, background, output_of, process_env
from tests.support import free_port

TICKING = [sys.executable, str(HERE / "ticking_process.py")]
TICK_JOB = "test.tick"  # as tests/core/ticking_process.py registers it
EVERY_SECONDS = 2
REDIS_URL = "redis://127.0.0.1:6379/0"
QUEUE = "emporium:periodic-test-jobs"  # this test's own list
# Two servers and two workers importing everything on two busy cores start slowly.
START_SECONDS = 40


def shop_schedule() -> set[str]:
    """The periodic jobs every process of the shop registers (the wiring step's)."""
    names: set[str] = set()

    class Recording(Wiring):
        def periodic(self, name: str, *, every_seconds: int) -> None:
            names.add(name)

    wire(Recording())
    return names


@pytest.fixture
async def redis_queue() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    await client.delete(QUEUE)
    yield client
    await client.delete(QUEUE)
    await client.aclose()


def ticking_env(settings: AppSettings, log: Path) -> dict[str, str]:
    return process_env(
        settings,
        EMPORIUM_JOBS_BROKER_URL=REDIS_URL,
        EMPORIUM_JOBS_BROKER_QUEUE=QUEUE,
        # Web processes run the relay, as they do unless told not to.
        EMPORIUM_JOBS_RUN_IN_PROCESS="true",
        EMPORIUM_JOBS_POLL_SECONDS="0.2",
        # Each web process counts its own limits: served with --workers 1, that is allowed.
        EMPORIUM_RATE_LIMIT_STORAGE="memory",
        TICK_LOG=str(log),
        TICK_EVERY_SECONDS=str(EVERY_SECONDS),
    )


async def wait_served(port: int, directory: Path, deadline: float) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"no answer on port {port}\n" + output_of(directory))


async def wait_workers_listening(redis: Redis, count: int, deadline: float) -> None:
    """Until ``count`` workers wait on the queue (each blocks in BRPOP on its list)."""
    while time.monotonic() < deadline:
        clients = await redis.client_list()
        if sum(c.get("cmd") == "brpop" and c.get("db") == "0" for c in clients) >= count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"fewer than {count} workers listen on {QUEUE}")


def runs_per_period(log: Path) -> Counter[float]:
    """How many times each period's tick ran (periods by their start, in seconds since the epoch)."""
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter(datetime.fromisoformat(line.split()[0]).timestamp() for line in lines)


async def observe(log: Path, periods: int) -> list[float]:
    """Wait through ``periods`` whole periods; the starts of those periods."""
    first = (time.time() // EVERY_SECONDS + 1) * EVERY_SECONDS
    starts = [first + i * EVERY_SECONDS for i in range(periods)]
    # The last period's run is enqueued within a poll of its start; give it a second to end.
    await asyncio.sleep(starts[-1] + EVERY_SECONDS - time.time() + 1.0)
    return starts


async def periodic_rows(db: Database) -> list[Job]:
    async with db.session() as session:
        rows = await session.execute(select(Job).where(Job.name.in_([*shop_schedule(), TICK_JOB])))
        return list(rows.scalars())


def assert_once_per_period(runs: Counter[float], starts: list[float], log: Path) -> None:
    assert {start: runs[start] for start in starts} == dict.fromkeys(starts, 1), log.read_text()
    # Nor any period, before or after those, ran twice.
    assert max(runs.values()) == 1, log.read_text()


async def test_two_workers_and_two_web_processes_run_each_period_once(
    committed_db: Database, settings: AppSettings, redis_queue: Redis, tmp_path: Path
) -> None:
    log = tmp_path / "ticks.log"
    env = ticking_env(settings, log)
    ports = [free_port(), free_port()]
    names = ["worker-a", "worker-b", "web-a", "web-b"]
    for name in names:
        (tmp_path / name).mkdir()
    commands = [[*TICKING, "worker"]] * 2 + [[*TICKING, "serve", "--port", str(port)] for port in ports]
    deadline = time.monotonic() + START_SECONDS
    async with AsyncExitStack() as processes:
        running = [
            await processes.enter_async_context(background(command, env, tmp_path / name))
            for command, name in zip(commands, names, strict=True)
        ]
        for port, name in zip(ports, names[2:], strict=True):
            await wait_served(port, tmp_path / name, deadline)
        await wait_workers_listening(redis_queue, 2, deadline)
        starts = await observe(log, periods=5)
        assert all(p.returncode is None for p in running), [output_of(tmp_path / n) for n in names]

    assert_once_per_period(runs_per_period(log), starts, log)
    # The shop's own periodic jobs too: one outbox row per job and period, each run to its end.
    rows = await periodic_rows(committed_db)
    per_period = Counter((job.name, job.payload["period"]) for job in rows)
    assert set(per_period.values()) == {1}, per_period
    assert {job.name for job in rows} == {*shop_schedule(), TICK_JOB}
    assert {job.status for job in rows} == {JobStatus.DONE}, [(j.name, j.status, j.last_error) for j in rows]
    print(f"\nticks by process: {Counter(line.split()[1] for line in log.read_text().splitlines())}")


async def test_with_a_broker_but_no_worker_the_web_processes_run_them(
    committed_db: Database, settings: AppSettings, redis_queue: Redis, tmp_path: Path
) -> None:
    log = tmp_path / "ticks.log"
    env = ticking_env(settings, log)
    ports = [free_port(), free_port()]
    deadline = time.monotonic() + START_SECONDS
    async with AsyncExitStack() as processes:
        for index, port in enumerate(ports):
            directory = tmp_path / f"web-{index}"
            directory.mkdir()
            command = [*TICKING, "serve", "--port", str(port)]
            await processes.enter_async_context(background(command, env, directory))
        for index, port in enumerate(ports):
            await wait_served(port, tmp_path / f"web-{index}", deadline)
        starts = await observe(log, periods=4)

    assert_once_per_period(runs_per_period(log), starts, log)
    rows = await periodic_rows(committed_db)
    # Every job of the shop's schedule ran in a web process; none waits on the broker for a worker.
    assert {job.name for job in rows} == {*shop_schedule(), TICK_JOB}
    assert {job.status for job in rows} == {JobStatus.DONE}, [(j.name, j.status, j.last_error) for j in rows]
    assert await redis_queue.llen(QUEUE) == 0
