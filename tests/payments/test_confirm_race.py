"""Shoppers' browsers racing on one order: many confirmations, many create-intent calls with one key.

Every request really commits (``make_committed_context``) and all of them are released at one barrier;
the order row lock decides, so the ledger holds one capture and Stripe one intent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from sqlalchemy import func, select

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.payments.models import Payment, PaymentTransaction
from tests.conftest import MakeContext
from tests.payments.conftest import guest_order, order_view, pool, start_payment
from tests.payments.gateways.fake_stripe import FakeStripe, browser_confirm, running, stripe_context
from tests.support import asgi_client, data

RACERS = 20


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with running() as server:
        yield server


async def _at_one_barrier(
    count: int, request: Callable[[], Awaitable[httpx.Response]]
) -> list[httpx.Response]:
    barrier = asyncio.Barrier(count)

    async def one() -> httpx.Response:
        await barrier.wait()
        return await request()

    return list(await asyncio.wait_for(asyncio.gather(*(one() for _ in range(count))), 120))


async def _count(ctx: AppContext, model: type[Payment] | type[PaymentTransaction]) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_twenty_confirmations_record_one_capture(
    make_committed_context: MakeContext, fake: FakeStripe
) -> None:
    ctx = stripe_context(make_committed_context, fake)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="stripe")
        payment = await start_payment(client, placed)
        assert (await browser_confirm(fake, payment["client_secret"], "pm_card_visa")).status_code == 200
        responses = await _at_one_barrier(
            RACERS,
            lambda: client.post(
                "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
            ),
        )
        assert {r.status_code for r in responses} == {200}, [
            r.text for r in responses if r.status_code != 200
        ]
        assert {r.json()["data"]["state"] for r in responses} == {"succeeded"}
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
        assert [e["kind"] for e in order["timeline"]].count("payment") == 1
        ledger = data(
            await client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=placed.headers)
        )
        assert [(t["kind"], t["status"], t["amount"]) for t in ledger["transactions"]] == [
            ("capture", "succeeded", "45.00")
        ]
    assert await _count(ctx, PaymentTransaction) == 1
    assert await pool(ctx, placed.pool_id) == (8, 0)  # deducted once
    assert (
        len(fake.calls("GET", f"/v1/payment_intents/{fake.succeeded_charges()[0]['payment_intent']}"))
        == RACERS
    )


async def test_twenty_create_intents_with_one_key_make_one_intent(
    make_committed_context: MakeContext, fake: FakeStripe
) -> None:
    ctx = stripe_context(make_committed_context, fake)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="stripe")
        headers = {**placed.headers, "Idempotency-Key": "double-click-pay-01"}
        responses = await _at_one_barrier(
            RACERS,
            lambda: client.post(
                "/api/v1/payments/create-intent", json={"order_id": placed.order["id"]}, headers=headers
            ),
        )
        assert {r.status_code for r in responses} == {201}, [
            r.text for r in responses if r.status_code != 201
        ]
        assert len({r.json()["data"]["id"] for r in responses}) == 1
        [intent] = fake.intents.values()
        assert {r.json()["data"]["client_secret"] for r in responses} == {intent["client_secret"]}
        assert len(fake.calls("POST", "/v1/payment_intents")) == 1
        assert await _count(ctx, Payment) == 1

        # The one intent is paid; the racing confirmations after it still record one capture.
        payment = responses[0].json()["data"]
        await browser_confirm(fake, payment["client_secret"], "pm_card_visa")
        confirms = await _at_one_barrier(
            RACERS,
            lambda: client.post(
                "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
            ),
        )
        assert {r.status_code for r in confirms} == {200}
        assert (await order_view(client, placed))["payment_status"] == "paid"
    assert await _count(ctx, PaymentTransaction) == 1
    assert len(fake.succeeded_charges()) == 1
