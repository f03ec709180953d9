"""/admin/jobs: open jobs listed with their errors (escaped), keyset pages and filters at a constant number
of statements; a dead mail retried from the page arrives once, however often the retry
is sent; a dead job discarded; each audited; who may read and who may act; hostile input refused."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.audit.models import AuditEntry
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.jobs import enqueue
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.mail import SEND_EMAIL_JOB, queue_email
from tests.admin.conftest import StaffClient, StaffClientFactory, csrf_of
from tests.conftest import MakeContext, Shopper
from tests.support import SmtpServer, count_statements, free_port

HOSTILE_ERROR = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


async def job_row(ctx: AppContext, job_id: int) -> Job | None:
    async with ctx.db.session() as session:
        found = await session.execute(
            select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
        )
        return found.scalars().first()


async def dead_job(
    ctx: AppContext, name: str = SEND_EMAIL_JOB, error: str = "SMTPConnectError: refused"
) -> int:
    async with ctx.db.session() as session:
        job = enqueue(session, name, {"to": "x@example.com", "template": "welcome", "context": {}})
        await session.flush()
        job_id = job.id
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=JobStatus.DEAD, attempts=6, last_error=error, finished_at=utcnow())
        )
    return job_id


async def post(client: StaffClient, url: str, page: str = "/admin/jobs?state=dead") -> httpx.Response:
    token = csrf_of((await client.get(page)).text)
    return await client.post(url, data={"csrf_token": token})


async def mail_job_ids(ctx: AppContext) -> list[int]:
    async with ctx.db.session() as session:
        rows = await session.execute(select(Job.id).where(Job.name == SEND_EMAIL_JOB).order_by(Job.id))
        return list(rows.scalars())


async def audit_actions(ctx: AppContext, job_id: int) -> list[str]:
    async with ctx.db.session() as session:
        rows = await session.execute(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "job", AuditEntry.object_id == str(job_id))
            .order_by(AuditEntry.id)
        )
        return list(rows.scalars())


async def test_a_dead_mail_retried_from_the_page_arrives_once(
    ctx: AppContext,
    make_context: MakeContext,
    shopper: Shopper,
    smtp: SmtpServer,
    staff_client: StaffClientFactory,
) -> None:
    await ctx.jobs.run_until_idle()  # the shopper's welcome mails
    subject = "Your password was changed"
    async with ctx.db.session() as session:
        queue_email(
            session,
            to=shopper.email,
            template="password_changed",
            context={"shop_name": "Emporium", "first_name": "Ada"},
        )
    # The SMTP server is unreachable while the jobs run: the mail uses up its attempts and dies.
    down = make_context(smtp_port=free_port(), smtp_timeout_seconds=2)
    await down.jobs.run_until_idle()
    async with ctx.db.session() as session:
        [job] = (
            await session.execute(select(Job).where(Job.name == SEND_EMAIL_JOB, Job.status == JobStatus.DEAD))
        ).scalars()
    assert job.attempts == job.max_attempts
    assert job.last_error
    assert [m for m in smtp.sink.to(shopper.email) if m.subject == subject] == []

    mail_jobs_before = await mail_job_ids(ctx)
    owner = await staff_client("super_admin")
    listed = await owner.get("/admin/jobs?state=dead")
    assert listed.status_code == 200
    assert f'action="/admin/jobs/{job.id}/retry"' in listed.text
    assert "data-confirm=" in listed.text
    # The server is back. Retry, twice as a double click would: the job is queued once.
    first = await post(owner, f"/admin/jobs/{job.id}/retry")
    assert first.status_code == 303
    again = await post(owner, f"/admin/jobs/{job.id}/retry")
    assert again.status_code == 409
    assert "retried already" in again.text
    requeued = await job_row(ctx, job.id)
    assert requeued is not None
    assert (requeued.status, requeued.attempts) == (JobStatus.PENDING, 0)
    assert await mail_job_ids(ctx) == mail_jobs_before  # the same row queued again, no copy

    await ctx.jobs.run_until_idle()
    assert len([m for m in smtp.sink.to(shopper.email) if m.subject == subject]) == 1
    done = await job_row(ctx, job.id)
    assert done is not None
    assert (done.status, done.attempts) == (JobStatus.DONE, 1)
    # Sent once more after it ran: refused, nothing queued, nothing sent.
    late = await post(owner, f"/admin/jobs/{job.id}/retry")
    assert late.status_code == 409
    await ctx.jobs.run_until_idle()
    assert len([m for m in smtp.sink.to(shopper.email) if m.subject == subject]) == 1
    assert await audit_actions(ctx, job.id) == ["job.retried"]


async def test_a_dead_job_is_discarded_with_an_audit_entry(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    job_id = await dead_job(ctx)
    owner = await staff_client("super_admin")
    response = await post(owner, f"/admin/jobs/{job_id}/discard")
    assert response.status_code == 303
    assert await job_row(ctx, job_id) is None
    assert await audit_actions(ctx, job_id) == ["job.discarded"]
    again = await post(owner, f"/admin/jobs/{job_id}/discard")
    assert again.status_code == 404
    assert "No such job" in again.text
    entries = (await owner.get("/admin/audit?object_type=job")).text
    assert "job.discarded" in entries
    assert "SMTPConnectError: refused" in entries


async def test_errors_are_escaped_and_admins_read_without_acting(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    job_id = await dead_job(ctx, error=HOSTILE_ERROR)
    admin = await staff_client("admin")
    page = await admin.get("/admin/jobs?state=dead")
    assert page.status_code == 200
    assert HOSTILE_ERROR not in page.text
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;"
        in page.text
    )
    assert "/retry" not in page.text
    forged = await post(admin, f"/admin/jobs/{job_id}/retry")
    assert forged.status_code == 403
    forged = await post(admin, f"/admin/jobs/{job_id}/discard")
    assert forged.status_code == 403
    job = await job_row(ctx, job_id)
    assert job is not None
    assert job.status == JobStatus.DEAD
    assert await audit_actions(ctx, job_id) == []


async def test_states_kinds_and_keyset_pages(
    ctx: AppContext, engine: AsyncEngine, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        for _ in range(55):
            enqueue(session, SEND_EMAIL_JOB, {"to": "p@example.com"})
        expiry = enqueue(session, "orders.expire_unpaid", {})
        done = enqueue(session, "orders.expire_unpaid", {})
        await session.flush()
        await session.execute(update(Job).where(Job.id == done.id).values(status=JobStatus.DONE))
    dead_id = await dead_job(ctx)
    admin = await staff_client("admin")

    def ids(html: str) -> list[int]:
        return [int(found) for found in re.findall(r'<tr id="job-(\d+)">', html)]

    first = await admin.get("/admin/jobs")
    shown = ids(first.text)
    assert len(shown) == 50
    assert shown == sorted(shown, reverse=True)
    assert shown[0] == dead_id
    assert done.id not in shown
    more = re.search(r'href="(/admin/jobs\?[^"]*after=[^"]*)" rel="next"', first.text)
    assert more is not None
    second = await admin.get(more.group(1).replace("&amp;", "&"))
    rest = ids(second.text)
    assert len(rest) == 7  # 55 mails + 1 expiry + 1 dead, less the first 50
    assert not set(rest) & set(shown)
    assert 'rel="next"' not in second.text

    assert ids((await admin.get("/admin/jobs?state=dead")).text) == [dead_id]
    assert ids((await admin.get("/admin/jobs?state=done")).text) == [done.id]
    assert ids((await admin.get("/admin/jobs?state=pending&kind=orders.expire_unpaid")).text) == [expiry.id]
    assert ids((await admin.get("/admin/jobs?kind=no.such.kind")).text) == []

    # A page costs the same statements whatever it shows.
    counts = []
    for url in (
        "/admin/jobs",
        "/admin/jobs?state=dead",
        "/admin/jobs?state=pending&kind=orders.expire_unpaid",
    ):
        with count_statements(engine) as sent:
            assert (await admin.get(url)).status_code == 200
        counts.append(len(sent))
    assert len(set(counts)) == 1, counts
    print("statements", counts)
    assert counts[0] <= 6, counts


@pytest.mark.parametrize(
    "url",
    [
        "/admin/jobs?state=everything",
        "/admin/jobs?kind=%3Cscript%3E",
        "/admin/jobs?kind=" + "a" * 101,
        "/admin/jobs?after=%%%",
        "/admin/jobs?after=bm90LWEtY3Vyc29y",
    ],
)
async def test_hostile_parameters_are_refused(staff_client: StaffClientFactory, url: str) -> None:
    admin = await staff_client("admin")
    assert (await admin.get(url)).status_code == 422


@pytest.mark.parametrize(
    ("path", "status"),
    [("0", 422), ("-1", 422), ("abc", 422), ("99999999999999999999", 422), ("987654321", 404)],
)
async def test_hostile_job_ids_are_refused(
    ctx: AppContext, staff_client: StaffClientFactory, path: str, status: int
) -> None:
    job_id = await dead_job(ctx)
    owner = await staff_client("super_admin")
    for action in ("retry", "discard"):
        assert (await post(owner, f"/admin/jobs/{path}/{action}")).status_code == status
    job = await job_row(ctx, job_id)
    assert job is not None
    assert job.status == JobStatus.DEAD


async def test_only_dead_jobs_are_retried_and_forms_need_their_token(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        pending = enqueue(session, SEND_EMAIL_JOB, {"to": "q@example.com"})
        await session.flush()
        pending_id = pending.id
    dead_id = await dead_job(ctx)
    owner = await staff_client("super_admin")
    refused = await post(owner, f"/admin/jobs/{pending_id}/retry")
    assert refused.status_code == 409
    assert (await post(owner, f"/admin/jobs/{pending_id}/discard")).status_code == 409
    assert (await owner.post(f"/admin/jobs/{dead_id}/retry", data={})).status_code == 403
    assert (
        await owner.post(f"/admin/jobs/{dead_id}/retry", data={"csrf_token": "forged"})
    ).status_code == 403
    job = await job_row(ctx, pending_id)
    assert job is not None
    assert (job.status, job.attempts) == (JobStatus.PENDING, 0)
    dead = await job_row(ctx, dead_id)
    assert dead is not None
    assert dead.status == JobStatus.DEAD


async def test_the_home_page_links_failed_jobs_to_the_dead_jobs(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    await dead_job(ctx)
    owner = await staff_client("super_admin")
    home = (await owner.get("/admin")).text
    assert 'href="/admin/jobs?state=dead"' in home
