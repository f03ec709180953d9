"""Acceptance test 4 of the scaled-out shape: with mail being delivered by the two workers, one worker is
killed mid-delivery, the broker (the cluster's own Redis, started by this test's cluster) is restarted, and
the other worker is killed too. Every job ends done; the mails sent twice are counted and reported."""

from __future__ import annotations

import asyncio
import secrets
import signal
import time
from collections import Counter
from typing import Any

from sqlalchemy import select

from emporium.core.jobs.models import Job, JobStatus
from emporium.notifications.service import SEND_EMAIL_JOB, notifications
from tests.core.test_broker import WELCOME
from tests.topology.cluster_fixture import Cluster

MAILS = 40


async def _queue(cluster: Cluster, addresses: list[str]) -> None:
    db = cluster.database()
    try:
        async with db.session() as session:
            for address in addresses:
                notifications.queue_email(session, to=address, template="welcome", context=WELCOME)
    finally:
        await db.dispose()


async def _jobs(cluster: Cluster, addresses: set[str]) -> list[Job]:
    db = cluster.database()
    try:
        async with db.session() as session:
            rows = await session.execute(select(Job).where(Job.name == SEND_EMAIL_JOB))
            return [job for job in rows.scalars() if job.payload.get("to") in addresses]
    finally:
        await db.dispose()


async def _until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        await asyncio.sleep(0.05)


async def test_killed_workers_and_a_restarted_broker_leave_every_job_done(cluster: Cluster) -> None:
    run = secrets.token_hex(4)
    addresses = [f"broker-{run}-{n}@example.com" for n in range(MAILS)]
    ours = set(addresses)

    def sent() -> list[str]:
        with cluster.smtp.sink.lock:
            return [r for mail in cluster.smtp.sink.messages for r in mail.recipients if r in ours]

    async def sent_at_least(count: int) -> bool:
        return len(sent()) >= count

    async def all_done() -> bool:
        jobs = await _jobs(cluster, ours)
        return len(jobs) == MAILS and {job.status for job in jobs} == {JobStatus.DONE}

    await _queue(cluster, addresses)
    await _until(lambda: sent_at_least(8), 60, "8 mails sent")
    first = cluster.kill("worker-1", signal.SIGKILL)
    # The broker goes down and comes back (the supervisor starts it again, its queue kept on disk).
    broker = cluster.kill("redis", signal.SIGTERM)
    await cluster.wait_restarted("redis", broker)
    await _until(lambda: sent_at_least(20), 90, "20 mails sent after the broker's restart")
    second = cluster.kill("worker-2", signal.SIGKILL)
    await _until(all_done, 120, "every mail job done\n" + cluster.log("worker-1"))
    await cluster.wait_restarted("worker-1", first)
    await cluster.wait_restarted("worker-2", second)

    copies = Counter(sent())
    jobs = await _jobs(cluster, ours)
    cut_short = sum(job.lapses for job in jobs)
    duplicates = sum(copies.values()) - len(copies)
    print(
        f"\n{MAILS} mails, 2 worker kills and a broker restart: {cut_short} deliveries cut short, "
        f"{MAILS - len(copies)} missing, {duplicates} sent twice"
    )
    assert set(copies) == ours
    # A mail goes out again only after a kill cut its own delivery short.
    assert duplicates <= cut_short
