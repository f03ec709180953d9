"""E-mail jobs: rendering (escaped HTML, raw text), SMTP delivery and rendering failures."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from emporium.core.context import AppContext
from emporium.core.jobs import enqueue
from emporium.core.jobs.models import Job, JobStatus
from emporium.notifications.email import render_email
from emporium.notifications.models import Delivery
from emporium.notifications.service import SEND_EMAIL_JOB, notifications
from tests.conftest import MakeContext, sign_up
from tests.support import SmtpServer, free_port

HOSTILE_NAME = "<script>x</script>"


async def jobs_named(ctx: AppContext, name: str) -> list[Job]:
    async with ctx.db.session() as session:
        rows = await session.execute(
            select(Job).where(Job.name == name).order_by(Job.id).execution_options(populate_existing=True)
        )
        return list(rows.scalars().all())


async def test_registration_mails_arrive_by_smtp(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    await sign_up(client, "grace@example.com", first_name="Grace")
    assert smtp.sink.to("grace@example.com") == []  # nothing leaves before the jobs run
    await ctx.jobs.run_until_idle()
    mails = smtp.sink.to("grace@example.com")
    assert sorted(m.subject for m in mails) == ["Confirm your e-mail address", "Welcome to Emporium"]
    for mail in mails:
        assert mail.sender == "no-reply@emporium.localhost"
        assert mail.message["From"] == ctx.settings.mail_from
        assert "Hello Grace," in mail.text
        assert "Hello Grace," in mail.html
    async with ctx.db.session() as session:
        rows = (await session.execute(select(Delivery.channel, Delivery.status, Delivery.provider))).all()
    assert sorted(tuple(r) for r in rows) == [("email", "sent", "smtp")] * 2


async def test_user_text_is_escaped_in_html_and_raw_in_text(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    await sign_up(client, "mallory@example.com", first_name=HOSTILE_NAME)
    await ctx.jobs.run_until_idle()
    mails = smtp.sink.to("mallory@example.com")
    assert len(mails) == 2
    for mail in mails:
        assert HOSTILE_NAME not in mail.html
        assert "&lt;script&gt;x&lt;/script&gt;" in mail.html
        assert f"Hello {HOSTILE_NAME}," in mail.text
        assert "&lt;" not in mail.text


def test_render_escapes_only_the_html_part() -> None:
    mail = render_email(
        "welcome", "a@example.com", {"shop_name": "Tom & Jerry's", "first_name": '"Q" <b>bold</b>'}
    )
    assert mail.subject == "Welcome to Tom & Jerry's"
    assert "Tom &amp; Jerry&#39;s" in mail.html
    assert "<title>Welcome to Tom &amp; Jerry&#39;s</title>" in mail.html
    assert "&#34;Q&#34; &lt;b&gt;bold&lt;/b&gt;" in mail.html
    assert '"Q" <b>bold</b>' in mail.text
    assert "Tom & Jerry's" in mail.text


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("no_such_template", {"shop_name": "Emporium", "first_name": None}),
        ("welcome", {"first_name": "Ada"}),  # shop_name missing: undefined variable
        ("verify_email", {"shop_name": "Emporium", "first_name": "Ada"}),  # no verify_url
    ],
)
async def test_a_mail_that_cannot_be_rendered_is_dead_at_once(
    ctx: AppContext, smtp: SmtpServer, template: str, context: dict[str, Any]
) -> None:
    async with ctx.db.session() as session:
        notifications.queue_email(session, to="broken@example.com", template=template, context=context)
    await ctx.jobs.run_until_idle()
    [job] = await jobs_named(ctx, SEND_EMAIL_JOB)
    assert (job.status, job.attempts) == (JobStatus.DEAD, 1)
    assert job.last_error is not None
    assert job.last_error.startswith("PermanentJobError: cannot render e-mail")
    assert smtp.sink.to("broken@example.com") == []


async def test_a_payload_without_a_template_is_dead(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        enqueue(session, SEND_EMAIL_JOB, {"to": "x@example.com"})
    await ctx.jobs.run_until_idle()
    [job] = await jobs_named(ctx, SEND_EMAIL_JOB)
    assert (job.status, job.attempts) == (JobStatus.DEAD, 1)


async def test_an_unreachable_smtp_server_is_retried_not_lost(
    ctx: AppContext, make_context: MakeContext, smtp: SmtpServer
) -> None:
    down = make_context(smtp_port=free_port(), smtp_timeout_seconds=2, jobs_backoff_base_seconds=60)
    async with down.db.session() as session:
        notifications.queue_email(
            session,
            to="later@example.com",
            template="welcome",
            context={"shop_name": "E", "first_name": None},
        )
    await down.jobs.run_until_idle()
    [job] = await jobs_named(down, SEND_EMAIL_JOB)
    assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
    assert job.last_error

    # The server is back: the retry, once due, delivers.
    async with ctx.db.session() as session:
        await session.execute(update(Job).where(Job.id == job.id).values(run_after=job.created_at))
    await ctx.jobs.run_until_idle()
    assert len(smtp.sink.to("later@example.com")) == 1
    [job] = await jobs_named(ctx, SEND_EMAIL_JOB)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)


async def test_a_mail_sent_again_keeps_its_message_id(ctx: AppContext, smtp: SmtpServer) -> None:
    """At-least-once delivery: when a send is repeated (the worker died before recording it), the
    receiving side sees the same Message-ID and can drop the copy."""
    async with ctx.db.session() as session:
        notifications.queue_email(
            session, to="twice@example.com", template="welcome", context={"shop_name": "E", "first_name": "T"}
        )
        notifications.queue_email(
            session, to="twice@example.com", template="welcome", context={"shop_name": "E", "first_name": "U"}
        )
    await ctx.jobs.run_until_idle()
    first, _ = await jobs_named(ctx, SEND_EMAIL_JOB)
    async with ctx.db.session() as session:
        await session.execute(update(Job).where(Job.id == first.id).values(status=JobStatus.PENDING))
    await ctx.jobs.run_until_idle()
    mails = smtp.sink.to("twice@example.com")
    assert len(mails) == 3
    ids = [m.message["Message-ID"] for m in mails]
    assert ids[0] == ids[2]
    assert ids[0] != ids[1]
    assert ids[0] == f"<{first.payload['message_key']}@emporium.localhost>"
