"""Acceptance test 4 of the scaled-out shape: with mail being delivered by the two workers, one worker is
killed mid-delivery, the broker (the cluster's own Redis, started by this test's cluster) is restarted, and
the other worker is killed too. Every job ends done; the mails sent twice are counted and reported.

And on RabbitMQ: a node of the test's own (its own name, ports and data beside the shared server) is
restarted while a worker waits idle and again while it delivers; the worker reconnects and every job ends
done."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from emporium.core.db import Database
from emporium.core.jobs.models import Job, JobStatus
from emporium.notifications.service import SEND_EMAIL_JOB, notifications
from emporium.settings import AppSettings
from tests.core.processes import EMPORIUM, background, output_of, process_env
from tests.core.test_broker import WELCOME
from tests.support import MailSink, SmtpServer, free_port
from tests.topology.cluster_fixture import Cluster, SlowSink

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


RABBITMQ = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
RABBIT_QUEUE = "emporium:topology-rabbit-jobs"
RABBIT_START_SECONDS = 90


@dataclass
class PrivateRabbit:
    """A RabbitMQ node of the test's own beside the shared one: its own name, ports, data and logs."""

    root: Path
    port: int
    dist_port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": "/var/lib/rabbitmq",  # the Erlang cookie the node's tools share
            "RABBITMQ_NODENAME": f"emporium-test-{self.port}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq"),
            "RABBITMQ_PID_FILE": str(self.root / "pid"),
        }

    async def start(self) -> None:
        as_rabbitmq: dict[str, Any] = (
            {"user": "rabbitmq", "group": "rabbitmq", "extra_groups": []} if os.geteuid() == 0 else {}
        )
        with (self.root / "node.log").open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 - started, not waited for
                [str(RABBITMQ)],
                env=self.env(),
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **as_rabbitmq,
            )
        deadline = time.monotonic() + RABBIT_START_SECONDS
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.root / "node.log").read_text(errors="replace")[-3000:]
            with contextlib.suppress(Exception):
                connection = await aio_pika.connect(self.url, timeout=2)
                await connection.close()
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"the private RabbitMQ node did not start within {RABBIT_START_SECONDS} s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def _rabbit_root() -> Path:
    """The node's folder, owned by the rabbitmq user (the node will not run as root)."""
    if not RABBITMQ.exists():
        pytest.skip("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
    root = Path(tempfile.mkdtemp(prefix="emporium-rabbit-"))
    root.chmod(0o755)
    (root / "enabled_plugins").write_text("[].\n")
    (root / "rabbitmq.conf").write_text("loopback_users.guest = true\n")
    if os.geteuid() == 0:
        for path in (root, root / "enabled_plugins", root / "rabbitmq.conf"):
            shutil.chown(path, "rabbitmq", "rabbitmq")
    return root


@pytest.fixture
async def rabbit() -> AsyncIterator[PrivateRabbit]:
    root = _rabbit_root()
    node = PrivateRabbit(root, free_port(), free_port())
    try:
        await node.start()
        yield node
    finally:
        node.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _welcome(db: Database, addresses: list[str]) -> None:
    async with db.session() as session:
        for address in addresses:
            notifications.queue_email(session, to=address, template="welcome", context=WELCOME)


async def _statuses(db: Database, addresses: set[str]) -> list[Job]:
    async with db.session() as session:
        rows = await session.execute(select(Job).where(Job.name == SEND_EMAIL_JOB))
        return [job for job in rows.scalars() if job.payload.get("to") in addresses]


async def test_a_worker_outlives_restarts_of_its_rabbitmq_idle_and_busy(
    rabbit: PrivateRabbit, committed_db: Database, settings: AppSettings, tmp_path: Path
) -> None:
    sink = SlowSink()
    smtp = SmtpServer()
    smtp.sink = sink
    smtp.controller = Controller(sink, hostname="127.0.0.1", port=smtp.port, server_hostname="localhost")
    smtp.start()
    env = process_env(
        settings,
        smtp,
        EMPORIUM_JOBS_BROKER_URL=rabbit.url,
        EMPORIUM_JOBS_BROKER_QUEUE=RABBIT_QUEUE,
        EMPORIUM_JOBS_LEASE_SECONDS="5",
    )

    async def done(addresses: set[str]) -> bool:
        jobs = await _statuses(committed_db, addresses)
        return len(jobs) == len(addresses) and {job.status for job in jobs} == {JobStatus.DONE}

    try:
        async with background([EMPORIUM, "worker"], env, tmp_path) as worker:
            idle = {"idle-before@example.com"}
            await _welcome(committed_db, sorted(idle))
            await _until(lambda: done(idle), 60, "the first mail\n" + output_of(tmp_path))
            # Idle: the node goes away and comes back while the worker waits for work.
            rabbit.stop()
            await asyncio.sleep(2)
            await rabbit.start()
            after = {"idle-after@example.com"}
            await _welcome(committed_db, sorted(after))
            await _until(lambda: done(after), 90, "a mail after an idle restart\n" + output_of(tmp_path))

            # Busy: the node restarts while mails are being delivered.
            busy = {f"busy-{n}@example.com" for n in range(30)}
            await _welcome(committed_db, sorted(busy))
            await _until(lambda: _count(sink, busy, 5), 60, "5 busy mails sent")
            rabbit.stop()
            await rabbit.start()
            await _until(lambda: done(busy), 120, "every busy mail\n" + output_of(tmp_path))
            assert worker.returncode is None, output_of(tmp_path)
    finally:
        smtp.stop()
    copies = Counter(r for mail in sink.messages for r in mail.recipients if r in busy)
    print(f"\nRabbitMQ restarted under 30 mails: {sum(copies.values()) - len(copies)} sent twice")
    assert set(copies) == busy
    assert all(len(sink.to(address)) == 1 for address in idle | after)


async def _count(sink: MailSink, addresses: set[str], at_least: int) -> bool:
    with sink.lock:
        return sum(r in addresses for mail in sink.messages for r in mail.recipients) >= at_least
