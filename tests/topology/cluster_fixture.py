"""One scaled-out shop for the topology tests: `emporium cluster up --replica` as an operator runs it
(PostgreSQL of its own with a streaming replica, PgBouncer, Redis, 3 app processes, 2 workers, nginx),
started once per session in a process group of its own and always taken down, every part of it, even when a
test or the start fails."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller

from emporium.core.db import Database
from tests.core.processes import EMPORIUM
from tests.support import MailSink, SmtpServer

APPS = 3
WORKERS = 2
# The first start makes a database cluster, migrates it and imports every module in 3 processes at once.
START_SECONDS = 240
STOP_SECONDS = 120
SMTP_SECONDS = 0.05
METRICS_TOKEN = "topology-metrics-token-not-a-secret"
# As tests/conftest.py: tests place many orders from one client. The sign-in limit stays low, so the tests
# can show it holds across the app processes.
TEST_SETTINGS = {
    "EMPORIUM_ENV": "test",
    "EMPORIUM_ARGON2_MEMORY_COST_KIB": "256",
    "EMPORIUM_ARGON2_TIME_COST": "1",
    "EMPORIUM_ARGON2_PARALLELISM": "1",
    "EMPORIUM_AUTH_RATE_LIMIT": "20/minute",
    "EMPORIUM_RATE_LIMIT_READS": "100000/minute",
    "EMPORIUM_RATE_LIMIT_CART": "100000/minute",
    "EMPORIUM_RATE_LIMIT_CHECKOUT": "100000/minute",
    "EMPORIUM_GUEST_CHECKOUT_RATE_LIMIT": "100000/minute",
    "EMPORIUM_OPEN_ORDERS_PER_EMAIL": "100000",
    "EMPORIUM_OPEN_ORDERS_PER_PHONE": "100000",
    "EMPORIUM_OPEN_ORDERS_PER_CLIENT_ADDRESS": "100000",
    "EMPORIUM_JOBS_BACKOFF_BASE_SECONDS": "0",
    "EMPORIUM_JOBS_POLL_SECONDS": "0.2",
    # A claim whose worker was killed lapses, and its job is sent again, within seconds.
    "EMPORIUM_JOBS_LEASE_SECONDS": "5",
    "EMPORIUM_LOG_LEVEL": "WARNING",
    # /metrics sums every app process (multiprocess mode); the tests read it through nginx with this.
    "EMPORIUM_METRICS_TOKEN": METRICS_TOKEN,
    "PYTHONUNBUFFERED": "1",
}


class SlowSink(MailSink):
    """Takes a moment over each message, as a real server does, so a killed worker has mail in hand."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(SMTP_SECONDS)
        return await super().handle_DATA(server, session, envelope)


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_base_port() -> int:
    """A base port whose whole range (nginx, PostgreSQL, PgBouncer, Redis, the replica, the app processes) is
    free."""
    for _ in range(50):
        base = random.randrange(20000, 50000, 20)
        if all(_free(port) for port in [*range(base, base + 5), *range(base + 10, base + 10 + APPS)]):
            return base
    raise AssertionError("no free range of ports")


@dataclass
class Cluster:
    state_dir: Path
    smtp: SmtpServer
    supervisor: subprocess.Popen[bytes]

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads((self.state_dir / "cluster.json").read_text())
        return state

    @property
    def url(self) -> str:
        return str(self.state()["public_url"])

    @property
    def direct_url(self) -> str:
        return str(self.state()["direct_url"])

    @property
    def replica_url(self) -> str:
        """The replica itself, past PgBouncer."""
        return str(self.state()["replica_direct_url"])

    async def caught_up(self, seconds: float = 30) -> None:
        """Until the replica has applied everything written on the primary so far (what a test seeded
        directly is then what anonymous reads, served by the replica, find)."""
        primary = await asyncpg.connect(_plain(self.direct_url))
        try:
            written = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
        finally:
            await primary.close()
        replica = await asyncpg.connect(_plain(self.replica_url))
        try:
            deadline = time.monotonic() + seconds
            while not await replica.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", written):
                assert time.monotonic() < deadline, f"the replica did not replay up to {written}"
                await asyncio.sleep(0.05)
        finally:
            await replica.close()

    def service(self, name: str) -> dict[str, Any]:
        service: dict[str, Any] = self.state()["services"][name]
        return service

    def database(self) -> Database:
        """The cluster's PostgreSQL, directly (the tests' own seeding and counting)."""
        return Database(self.direct_url)

    def log(self, name: str) -> str:
        path = self.state_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def status(self) -> str:
        """What `emporium cluster status` says of this cluster."""
        command = [EMPORIUM, "cluster", "status", "--state-dir", str(self.state_dir)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
        return done.stdout

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        pid = int(self.service(name)["pid"])
        os.kill(pid, sig)
        return pid

    async def wait_restarted(self, name: str, old_pid: int, seconds: float = 90) -> dict[str, Any]:
        """Until the supervisor has started ``name`` again and it listens (or runs, for a worker)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            service = self.service(name)
            if service["pid"] != old_pid and service["running"] and _listening(service.get("port")):
                return service
            await asyncio.sleep(0.2)
        raise AssertionError(f"{name} was not started again within {seconds} s\n{self.log(name)}")

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=60, **kwargs)


def _plain(url: str) -> str:
    """An SQLAlchemy URL as asyncpg takes it."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _listening(port: int | None) -> bool:
    if port is None:
        return True
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _environment(smtp: SmtpServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMPORIUM_")}
    env.update(TEST_SETTINGS)
    env.update(EMPORIUM_SMTP_HOST="127.0.0.1", EMPORIUM_SMTP_PORT=str(smtp.port))
    return env


def _wait_ready(state_dir: Path, supervisor: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    state_file = state_dir / "cluster.json"
    while time.monotonic() < deadline:
        if supervisor.poll() is not None:
            raise AssertionError(f"`emporium cluster up` exited with {supervisor.returncode}")
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            if json.loads(state_file.read_text())["ready"]:
                return
        time.sleep(0.5)
    raise AssertionError(f"the cluster was not ready within {START_SECONDS} s")


def _take_down(state_dir: Path, supervisor: subprocess.Popen[bytes]) -> None:
    """`emporium cluster down` (every part stopped in order), then SIGKILL to whatever is left."""
    if supervisor.poll() is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            down = [EMPORIUM, "cluster", "down", "--state-dir", str(state_dir)]
            subprocess.run(down, capture_output=True, timeout=STOP_SECONDS, check=False)
    if supervisor.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(supervisor.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            supervisor.wait(STOP_SECONDS)
    with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
        for service in json.loads((state_dir / "cluster.json").read_text())["services"].values():
            if service["pid"]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(service["pid"], signal.SIGKILL)
    if supervisor.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(supervisor.pid, signal.SIGKILL)
        supervisor.wait(10)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    smtp = SmtpServer()
    smtp.sink = SlowSink()
    smtp.controller = Controller(smtp.sink, hostname="127.0.0.1", port=smtp.port, server_hostname="localhost")
    smtp.start()
    # In /tmp itself: the postgres user (PostgreSQL will not run as root) must reach its data folder.
    state_dir = Path(tempfile.mkdtemp(prefix="emporium-cluster-"))
    command = [EMPORIUM, "cluster", "up", "--state-dir", str(state_dir), "--base-port", str(free_base_port())]
    command += ["--apps", str(APPS), "--workers", str(WORKERS), "--replica"]
    output = (state_dir / "supervisor.log").open("wb")
    supervisor = subprocess.Popen(
        command,
        env=_environment(smtp),
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        try:
            _wait_ready(state_dir, supervisor)
        except AssertionError as exc:
            logs = "\n".join(
                f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                for path in sorted(state_dir.rglob("*.log"))
            )
            raise AssertionError(f"{exc}\n{logs}") from None
        yield Cluster(state_dir, smtp, supervisor)
    finally:
        _take_down(state_dir, supervisor)
        output.close()
        smtp.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
