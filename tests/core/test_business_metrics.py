"""The shop's business metrics: orders placed, payments captured and failed, refunds and e-mails counted
when they happen (once committed), and the job backlog read from the database at each scrape."""

from __future__ import annotations

import re
from datetime import timedelta

import aiosmtplib
import httpx
import pytest
from prometheus_client import Counter
from sqlalchemy import func, select, update

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.metrics import ORDERS_PLACED, REGISTRY, count_after_commit
from emporium.notifications.email import RenderedEmail, deliver
from emporium.payments.gateways.test.gateway import DECLINED, SUCCEEDS
from tests.conftest import MakeContext
from tests.inventory.factory import staff_headers
from tests.payments.conftest import guest_order, pay_with, start_payment
from tests.support import SmtpServer, data, free_port


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _figures() -> dict[str, float]:
    return {
        "placed": _value("emporium_orders_placed_total", payment_method="test"),
        "captured": _value("emporium_payments_total", gateway="test", outcome="captured"),
        "failed": _value("emporium_payments_total", gateway="test", outcome="failed"),
        "refunds": _value("emporium_refunds_total", gateway="test"),
        "mail_sent": _value("emporium_notifications_total", channel="email", outcome="sent"),
        "mail_failed": _value("emporium_notifications_total", channel="email", outcome="failed"),
    }


def _moved(before: dict[str, float]) -> dict[str, float]:
    after = _figures()
    return {name: after[name] - before[name] for name in before}


def _gauge(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found, text
    return float(found.group(1))


async def _pending(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int(await session.scalar(select(func.count()).where(Job.status == JobStatus.PENDING)) or 0)


async def test_placing_paying_and_refunding_through_the_api_moves_the_counters(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    refunder = await staff_headers(client, ctx, email="metrics-refunds@example.com", role="admin")
    before = _figures()
    declined = await guest_order(client, ctx)
    await pay_with(client, await start_payment(client, declined), DECLINED)
    paid = await guest_order(client, ctx, price="30.00")
    await pay_with(client, await start_payment(client, paid, key="pay-key-000002"), SUCCEEDS)
    # The gateway's answers are jobs: the capture and the failure are recorded when they run.
    assert _moved(before) == {**dict.fromkeys(before, 0), "placed": 2}

    # The jobs (and the e-mails) wait in the outbox: the scrape's backlog is the table's.
    queued = await _pending(ctx)
    assert queued > 0
    assert _gauge((await client.get("/metrics")).text, "emporium_jobs_queued") == queued
    mailed = len(smtp.sink.messages)
    await ctx.jobs.run_until_idle()
    sent = len(smtp.sink.messages) - mailed
    assert sent > 0
    assert _moved(before) == {
        **dict.fromkeys(before, 0),
        "placed": 2,
        "captured": 1,
        "failed": 1,
        "mail_sent": sent,
    }
    assert _gauge((await client.get("/metrics")).text, "emporium_jobs_queued") == await _pending(ctx)

    refund = await client.post(
        "/api/v1/payments/refund",
        json={"order_id": paid.order["id"], "amount": "10.00", "reason": "one arrived torn"},
        headers={**refunder, "Idempotency-Key": "metrics-refund-0001"},
    )
    data(refund, 201)
    moved = _moved(before)
    assert moved == {
        "placed": 2,
        "captured": 1,
        "failed": 1,
        "refunds": 1,
        "mail_sent": sent,
        "mail_failed": 0,
    }


async def test_the_oldest_queued_age_counts_from_when_a_job_was_due(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await guest_order(client, ctx)
    assert await _pending(ctx) > 0
    async with ctx.db.session() as session:
        await session.execute(
            update(Job)
            .where(Job.status == JobStatus.PENDING)
            .values(run_after=utcnow() - timedelta(minutes=5))
        )
    waited = _gauge((await client.get("/metrics")).text, "emporium_jobs_oldest_queued_age_seconds")
    assert 300 <= waited < 600
    # Jobs not due yet are queued, but nothing has waited.
    async with ctx.db.session() as session:
        await session.execute(
            update(Job).where(Job.status == JobStatus.PENDING).values(run_after=utcnow() + timedelta(hours=1))
        )
    scraped = (await client.get("/metrics")).text
    assert _gauge(scraped, "emporium_jobs_oldest_queued_age_seconds") == 0
    assert _gauge(scraped, "emporium_jobs_queued") == await _pending(ctx)


def _probed() -> float:
    return _value("emporium_orders_placed_total", payment_method="commit-probe")


async def _count_then_fail(ctx: AppContext, probe: Counter) -> None:
    async with ctx.db.session() as session:
        count_after_commit(session, probe)
        await session.execute(select(1))
        raise RuntimeError("undone")


async def test_a_count_waits_for_the_commit_and_a_rollback_drops_it(ctx: AppContext) -> None:
    probe = ORDERS_PLACED.labels("commit-probe")
    before = _probed()
    with pytest.raises(RuntimeError, match="undone"):
        await _count_then_fail(ctx, probe)
    assert _probed() == before
    async with ctx.db.session() as session:
        count_after_commit(session, probe)
        await session.execute(select(1))
        assert _probed() == before
    assert _probed() == before + 1


async def test_an_email_the_server_refuses_counts_as_failed(make_context: MakeContext) -> None:
    closed = make_context(smtp_port=free_port())  # nothing listens there
    before = _figures()
    mail = RenderedEmail("ada@example.com", "Hello", "Hello", "<p>Hello</p>", "test")
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await deliver(closed.settings, closed.db, mail)
    assert _moved(before)["mail_failed"] == 1
    assert _moved(before)["mail_sent"] == 0
