"""The review request: days after an order is delivered, one e-mail per order, to a customer who turned
promotional messages on, linking to each product's review form."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.jobs import enqueue
from emporium.reviews.models import ReviewRequest
from emporium.reviews.tasks import SEND_REQUESTS_JOB
from tests.conftest import Shopper, sign_up
from tests.inventory.factory import staff_headers
from tests.orders.conftest import place_for
from tests.support import SmtpServer, data

SUBJECT = "How was your order"


async def _deliver(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, staff: dict[str, str]
) -> str:
    placed = await place_for(client, ctx, shopper, payment_method="cash_on_delivery")
    url = f"/api/v1/admin/orders/{placed.order['id']}"
    for move in ({"status": "confirmed"}, {"status": "shipped", "carrier": "DHL", "tracking_number": "T1"}):
        data(await client.put(url, json=move, headers=staff))
    data(await client.put(url, json={"status": "delivered"}, headers=staff))
    return str(placed.product.product.slug)


async def _opt_in(client: httpx.AsyncClient, shopper: Shopper) -> None:
    body = {"choices": [{"category": "review_request", "channel": "email", "enabled": True}]}
    data(await client.put("/api/v1/users/preferences/notifications", json=body, headers=shopper.headers))


async def _run_job(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        enqueue(session, SEND_REQUESTS_JOB, {})
    await ctx.jobs.run_until_idle()


async def _come_due(ctx: AppContext) -> None:
    """What the days after delivery do: the requests' due time passes (no sleeping)."""
    async with ctx.db.session() as session:
        await session.execute(update(ReviewRequest).values(due_at=utcnow() - timedelta(minutes=1)))


def _requests(smtp: SmtpServer, email: str) -> list[str]:
    return [m.subject for m in smtp.sink.to(email) if m.subject.startswith(SUBJECT)]


async def test_one_request_per_delivered_order_after_the_days(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, smtp: SmtpServer
) -> None:
    staff = await staff_headers(client, ctx, email="shipper@example.com", role="support")
    await _opt_in(client, shopper)
    slug = await _deliver(client, ctx, shopper, staff)
    await _run_job(ctx)
    assert _requests(smtp, shopper.email) == []  # delivered today: not due for 7 days
    async with ctx.db.session() as session:
        request = (await session.execute(ReviewRequest.__table__.select())).one()
        assert timedelta(days=6, hours=23) < request.due_at - utcnow() <= timedelta(days=7)

    await _come_due(ctx)
    await _run_job(ctx)
    mails = [m for m in smtp.sink.to(shopper.email) if m.subject.startswith(SUBJECT)]
    assert len(mails) == 1
    link = f"http://shop.test/p/{slug}#write-review"
    assert link in mails[0].text
    assert f'href="{link}"' in mails[0].html
    assert "Hello Ada Lovelace" in mails[0].text

    await _run_job(ctx)  # a second run finds nothing left to send
    assert len(_requests(smtp, shopper.email)) == 1


async def test_no_request_without_the_customers_consent(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    quiet = await sign_up(client, "quiet@example.com")
    staff = await staff_headers(client, ctx, email="shipper2@example.com", role="support")
    await _deliver(client, ctx, quiet, staff)
    await _come_due(ctx)
    await _run_job(ctx)
    assert _requests(smtp, quiet.email) == []
    async with ctx.db.session() as session:
        request = (await session.execute(ReviewRequest.__table__.select())).one()
    assert (request.sent_at is not None, request.skipped) == (True, "not_wanted")
