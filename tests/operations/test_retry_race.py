"""Two retries of one dead job sent at the same moment (a double click reaching two processes): one queues
it, the other is refused, and the job is queued once with one audit entry."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, update

from emporium.audit.models import AuditEntry
from emporium.audit.schemas import Actor
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.errors import Conflict
from emporium.core.jobs import enqueue
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.mail import SEND_EMAIL_JOB
from emporium.operations.jobs import jobs_admin
from tests.conftest import MakeContext

ACTOR = Actor(user_id=None, email="owner@shop.test", ip_address="127.0.0.1")


async def _retry(ctx: AppContext, job_id: int, start: asyncio.Event) -> str:
    await start.wait()
    try:
        async with ctx.db.session() as session:
            await jobs_admin.retry(session, ACTOR, job_id)
    except Conflict:
        return "refused"
    return "queued"


async def test_two_retries_at_once_queue_the_job_once(make_committed_context: MakeContext) -> None:
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        job = enqueue(session, SEND_EMAIL_JOB, {"to": "race@example.com"})
        await session.flush()
        job_id = job.id
        dead = {"status": JobStatus.DEAD, "attempts": 6, "finished_at": utcnow()}
        await session.execute(update(Job).where(Job.id == job_id).values(**dead))
    start = asyncio.Event()
    racing = [asyncio.create_task(_retry(ctx, job_id, start)) for _ in range(2)]
    await asyncio.sleep(0)
    start.set()
    assert sorted(await asyncio.gather(*racing)) == ["queued", "refused"]
    async with ctx.db.session() as session:
        row = (await session.execute(select(Job.status, Job.attempts).where(Job.id == job_id))).one()
        entries = await session.scalar(select(func.count()).select_from(AuditEntry))
        jobs = await session.scalar(select(func.count()).select_from(Job))
    assert tuple(row) == (JobStatus.PENDING, 0)
    assert (entries, jobs) == (1, 1)
