"""Running Emporium commands as real processes, with bounded waits and certain cleanup."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from emporium.settings import AppSettings
from tests.support import SmtpServer

HERE = Path(__file__).parent
EMPORIUM = str(Path(sys.executable).parent / "emporium")


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


def process_env(settings: AppSettings, smtp: SmtpServer | None = None, **extra: str) -> dict[str, str]:
    """The environment of a child process: the test settings as EMPORIUM_* variables, nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMPORIUM_")}
    env.update(
        EMPORIUM_ENV="test",
        EMPORIUM_DATABASE_URL=settings.database_url,
        EMPORIUM_SECRET_KEY=settings.secret_key.get_secret_value(),
        EMPORIUM_ARGON2_MEMORY_COST_KIB="256",
        EMPORIUM_ARGON2_TIME_COST="1",
        EMPORIUM_ARGON2_PARALLELISM="1",
        EMPORIUM_JOBS_RUN_IN_PROCESS="false",
        EMPORIUM_JOBS_BACKOFF_BASE_SECONDS="0",
        EMPORIUM_JOBS_POLL_SECONDS="0.2",
        EMPORIUM_LOG_LEVEL="WARNING",
        EMPORIUM_PUBLIC_URL="http://shop.test",
        # As in tests/conftest.py: tests place many orders from one client.
        EMPORIUM_GUEST_CHECKOUT_RATE_LIMIT="10000/minute",
        EMPORIUM_OPEN_ORDERS_PER_EMAIL="1000",
        EMPORIUM_OPEN_ORDERS_PER_PHONE="1000",
        EMPORIUM_OPEN_ORDERS_PER_CLIENT_ADDRESS="1000",
        PYTHONUNBUFFERED="1",
    )
    if smtp is not None:
        env.update(EMPORIUM_SMTP_HOST="127.0.0.1", EMPORIUM_SMTP_PORT=str(smtp.port))
    env.update(extra)
    return env


async def run(args: list[str], env: dict[str, str], cwd: Path, limit_seconds: float = 60) -> Finished:
    """Run a command to its end (killed, and the test failed, if it takes longer than the limit)."""
    proc = await asyncio.create_subprocess_exec(
        *args, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit_seconds)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"{args} did not finish within {limit_seconds} s") from None
    assert proc.returncode is not None
    return Finished(proc.returncode, out.decode(), err.decode())


async def run_worker_once(env: dict[str, str], cwd: Path) -> int:
    """``emporium worker --once``; returns how many jobs it ran."""
    done = await run([EMPORIUM, "worker", "--once"], env, cwd)
    assert done.returncode == 0, done.stderr
    found = re.search(r"^Ran (\d+) job\(s\)\.$", done.stdout, re.MULTILINE)
    assert found, done.stdout + done.stderr
    return int(found.group(1))


@asynccontextmanager
async def background(
    args: list[str], env: dict[str, str], cwd: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A long-running command, always stopped when the block ends: SIGTERM, then SIGKILL after 10 s.
    Its output goes to ``cwd / "output.log"`` (read it with ``output_of``)."""
    with (cwd / "output.log").open("wb") as output:
        proc = await asyncio.create_subprocess_exec(
            *args, env=env, cwd=cwd, stdout=output, stderr=asyncio.subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            if proc.returncode is None:
                with suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    with suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()


def output_of(cwd: Path) -> str:
    return (cwd / "output.log").read_text(errors="replace")
