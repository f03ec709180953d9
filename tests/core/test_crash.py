"""No mail is lost when a process dies: the outbox row (the notification's planning job) outlives it and a
worker plans and delivers it once."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from sqlalchemy import func, select

from emporium.accounts.models import User
from emporium.core.db import Database, utcnow
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.notify import PLAN_JOB
from emporium.settings import AppSettings
from tests.conftest import MakeContext
from tests.core.processes import HERE, process_env, run, run_worker_once
from tests.support import SmtpServer

CRASHING_SIGNUP = str(HERE / "crashing_signup.py")
SUBJECTS = ["Confirm your e-mail address", "Welcome to Emporium"]


async def outbox(db: Database) -> list[Job]:
    async with db.session() as session:
        rows = await session.execute(select(Job).where(Job.name == PLAN_JOB).order_by(Job.id))
        return list(rows.scalars().all())


async def users_named(db: Database, email: str) -> int:
    async with db.session() as session:
        count = await session.execute(select(func.count()).select_from(User).where(User.email == email))
        return int(count.scalar_one())


async def crash_after_signup(email: str, env: dict[str, str], cwd: Path, *, claim: bool) -> list[int]:
    args = [sys.executable, CRASHING_SIGNUP, email, *(["--claim"] if claim else [])]
    died = await run(args, env, cwd)
    assert died.returncode == -signal.SIGKILL, died.stdout + died.stderr
    report = json.loads(died.stdout.strip().splitlines()[-1])
    assert report["registered"] == email
    claimed: list[int] = report["claimed"]
    return claimed


async def test_killed_after_commit_before_the_send_still_delivers_once(
    committed_db: Database, settings: AppSettings, smtp: SmtpServer, tmp_path: Path
) -> None:
    smtp.sink.clear()
    email = "crash@example.com"
    await crash_after_signup(email, process_env(settings, smtp), tmp_path, claim=False)

    # The process is gone; its committed work is not.
    assert await users_named(committed_db, email) == 1
    jobs = await outbox(committed_db)
    assert [(j.status, j.attempts) for j in jobs] == [(JobStatus.PENDING, 0)] * 2
    assert smtp.sink.to(email) == []

    worker_env = process_env(settings, smtp)
    # Two plans, then the two e-mail deliveries they queued.
    assert await run_worker_once(worker_env, tmp_path) == 4
    assert sorted(m.subject for m in smtp.sink.to(email)) == SUBJECTS
    jobs = await outbox(committed_db)
    assert [(j.status, j.attempts) for j in jobs] == [(JobStatus.DONE, 1)] * 2

    # Running the worker again sends nothing more.
    assert await run_worker_once(worker_env, tmp_path) == 0
    assert len(smtp.sink.to(email)) == 2
    assert len(smtp.sink.messages) == 2


async def test_killed_while_holding_a_claim_delivers_after_the_lease_lapses(
    committed_db: Database,
    make_committed_context: MakeContext,
    settings: AppSettings,
    smtp: SmtpServer,
    tmp_path: Path,
) -> None:
    smtp.sink.clear()
    email = "claimed@example.com"
    lease = 3.0
    env = process_env(settings, smtp, EMPORIUM_JOBS_LEASE_SECONDS=str(lease))
    claimed = await crash_after_signup(email, env, tmp_path, claim=True)

    jobs = await outbox(committed_db)
    assert sorted(claimed) == [j.id for j in jobs]
    assert [(j.status, j.attempts) for j in jobs] == [(JobStatus.RUNNING, 1)] * 2
    locked_until = max(j.locked_until for j in jobs if j.locked_until is not None)
    assert locked_until > utcnow()
    # While the dead process's lease lasts, nobody takes the jobs over.
    assert await make_committed_context(jobs_lease_seconds=lease).jobs.claim() == []

    await asyncio.sleep(max(0.0, (locked_until - utcnow()).total_seconds()) + 0.2)
    assert await run_worker_once(env, tmp_path) == 4  # the two plans and their two deliveries
    assert sorted(m.subject for m in smtp.sink.to(email)) == SUBJECTS
    jobs = await outbox(committed_db)
    # A lapsed claim is no failed attempt; nor a lapse, as the process died before running the jobs.
    assert [(j.status, j.attempts, j.lapses) for j in jobs] == [(JobStatus.DONE, 1, 0)] * 2
    assert await run_worker_once(env, tmp_path) == 0
    assert len(smtp.sink.to(email)) == 2
