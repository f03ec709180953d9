"""The development mailbox: where mail goes without an SMTP server, readable with mailbox:read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from emporium.accounts.service import auth
from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.core.jobs.models import Job, JobStatus
from emporium.notifications.models import DevMailMessage
from emporium.notifications.planning import DELIVER_JOB
from tests.conftest import MakeContext, sign_up
from tests.support import STRONG_PASSWORD, SmtpServer, asgi_client, bearer, data, error

MAILBOX = "/api/v1/admin/mailbox"


@pytest.fixture
def devctx(make_context: MakeContext) -> AppContext:
    return make_context(with_smtp=False)


@pytest.fixture
async def devclient(devctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(ctx=devctx)) as http:
        yield http


async def staff_headers(client: httpx.AsyncClient, ctx: AppContext, email: str, role: str) -> dict[str, str]:
    async with ctx.db.session() as session:
        await auth.create_user(session, ctx, email=email, password=STRONG_PASSWORD, role=role)
    tokens = data(await client.post("/api/v1/auth/login", json={"email": email, "password": STRONG_PASSWORD}))
    return bearer(tokens["access_token"])


async def test_without_smtp_mail_lands_in_the_mailbox(
    devclient: httpx.AsyncClient, devctx: AppContext, smtp: SmtpServer
) -> None:
    await sign_up(devclient, "lin@example.com", first_name="<b>Lin</b>")
    await devctx.jobs.run_until_idle()
    assert smtp.sink.messages == []
    async with devctx.db.session() as session:
        rows = (await session.execute(select(DevMailMessage).order_by(DevMailMessage.id))).scalars().all()
        jobs = (await session.execute(select(Job).order_by(Job.id))).scalars().all()
    assert [r.template for r in rows] == ["welcome", "verify_email"]
    assert {r.to_address for r in rows} == {"lin@example.com"}
    # Each kept by the job that delivered it (planning jobs came first).
    assert [r.job_id for r in rows] == [j.id for j in jobs if j.name == DELIVER_JOB]
    assert {j.status for j in jobs} == {JobStatus.DONE}
    assert "&lt;b&gt;Lin&lt;/b&gt;" in rows[0].html_body
    assert "Hello <b>Lin</b>," in rows[0].text_body


async def test_super_admin_reads_the_mailbox(devclient: httpx.AsyncClient, devctx: AppContext) -> None:
    await sign_up(devclient, "reader@example.com", first_name="Rea")
    await sign_up(devclient, "other@example.com")
    await devctx.jobs.run_until_idle()
    headers = await staff_headers(devclient, devctx, "boss@example.com", "super_admin")

    response = await devclient.get(MAILBOX, headers=headers, params={"to": "Reader@Example.com"})
    listed = data(response)
    assert response.json()["pagination"] == {
        "page": 1,
        "limit": 20,
        "total": 2,
        "pages": 1,
        "total_exact": True,
    }
    assert [m["template"] for m in listed] == ["verify_email", "welcome"]  # newest first
    assert {m["to_address"] for m in listed} == {"reader@example.com"}

    everything = await devclient.get(MAILBOX, headers=headers)
    assert everything.json()["pagination"]["total"] == 4

    one = data(await devclient.get(f"{MAILBOX}/{listed[1]['id']}", headers=headers))
    assert one["subject"] == "Welcome to Emporium"
    assert "Hello Rea," in one["text_body"]
    assert error(await devclient.get(f"{MAILBOX}/999999", headers=headers), 404)["code"] == "NOT_FOUND"


async def test_support_staff_may_read_the_mailbox(devclient: httpx.AsyncClient, devctx: AppContext) -> None:
    headers = await staff_headers(devclient, devctx, "help@example.com", "support")
    assert data(await devclient.get(MAILBOX, headers=headers)) == []


async def test_a_customer_may_not_read_the_mailbox(devclient: httpx.AsyncClient, devctx: AppContext) -> None:
    shopper = await sign_up(devclient, "nosy@example.com")
    await devctx.jobs.run_until_idle()
    err = error(await devclient.get(MAILBOX, headers=shopper.headers), 403)
    assert err["code"] == "PERMISSION_DENIED"
    async with devctx.db.session() as session:
        [message_id] = (
            await session.execute(select(DevMailMessage.id).where(DevMailMessage.template == "welcome"))
        ).scalars()
    error(await devclient.get(f"{MAILBOX}/{message_id}", headers=shopper.headers), 403)


async def test_anonymous_callers_must_sign_in(devclient: httpx.AsyncClient) -> None:
    response = await devclient.get(MAILBOX)
    assert error(response, 401)["code"] == "UNAUTHORIZED"
    assert response.headers["www-authenticate"] == "Bearer"
    error(await devclient.get(f"{MAILBOX}/1"), 401)
    error(await devclient.get(MAILBOX, headers=bearer("not-a-token")), 401)
