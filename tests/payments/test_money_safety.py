"""Money that must not be taken as more than it is: no test card in production, a partial capture is not
a payment in full, an absurd amount is refused, a refund's key names one refund."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.payments.gateways import signing
from emporium.payments.gateways.test.gateway import SIGNATURE_HEADER, webhook_secret
from emporium.payments.models import Payment, PaymentTransaction, WebhookEvent
from emporium.web.checkout_pages import ORDERS_COOKIE
from tests.conftest import MakeContext
from tests.inventory.factory import make_product, staff_headers
from tests.orders.factory import make_cart, make_shipping, order_body
from tests.payments.conftest import GuestOrder, guest_order, order_view, pay_with, pool, start_payment
from tests.support import asgi_client, data, error

WEBHOOK = "/api/v1/payments/webhook/test"


async def _order_of(client: httpx.AsyncClient, ctx: AppContext, price: str) -> GuestOrder:
    """One item at ``price`` plus 5.00 shipping, untaxed: a guest order of price + 5.00."""
    async with ctx.db.session() as session:
        made = await make_product(session, f"Lamp {price}", prices=(price,), on_hand=4)
        method = await make_shipping(session, price="5.00")
        token = await make_cart(session, [(made.variants[0], 1)])
    order = data(
        await client.post("/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": token}), 201
    )
    return GuestOrder(order, {"X-Order-Token": order["access_token"]}, made.pools[0].id)


async def _reference(ctx: AppContext, payment_id: int) -> str:
    async with ctx.db.session() as session:
        payment = await session.get(Payment, payment_id)
        assert payment is not None
        return payment.reference


def _signed(ctx: AppContext, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, {SIGNATURE_HEADER: signing.sign(body, webhook_secret(ctx.settings))}


def _succeeded(reference: str, amount: Any, event_id: str, currency: str = "USD") -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "payment.succeeded",
        "data": {"reference": reference, "state": "succeeded", "amount_minor": amount, "currency": currency},
    }


async def _stored_events(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(WebhookEvent))).scalar_one())


# 1. No test money in production ---------------------------------------------------------------------------


async def test_production_takes_no_test_card_even_when_the_gateway_is_named(
    client: httpx.AsyncClient, ctx: AppContext, make_context: MakeContext
) -> None:
    """Production refuses to start with the test gateway offered (tests/core/test_config.py); should it be
    named anyway, its card page, its payments and its webhooks take no money."""
    placed = await guest_order(client, ctx)
    payment = await start_payment(client, placed)
    reference = await _reference(ctx, payment["id"])
    production = make_context()
    production.settings = production.settings.model_copy(update={"env": "production"})
    async with asgi_client(create_app(ctx=production)) as shop:
        page = await pay_with(shop, payment, "4242 4242 4242 4242")
        assert page.status_code == 422
        assert "off in production" in page.text
        body, headers = _signed(production, _succeeded(reference, 4500, "evt_prod_1"))
        assert (
            error(await shop.post(WEBHOOK, content=body, headers=headers), 400)["code"] == "WEBHOOK_INVALID"
        )
        another = await guest_order(shop, production)
        refused = await shop.post(
            "/api/v1/payments/create-intent",
            json={"order_id": another.order["id"]},
            headers={**another.headers, "Idempotency-Key": "prod-pay-0001"},
        )
        assert error(refused, 409)["code"] == "PAYMENT_NOT_POSSIBLE"
        await production.jobs.run_until_idle()
        order = await order_view(shop, placed)
    assert (order["status"], order["payment_status"], order["stock_state"]) == (
        "pending",
        "awaiting",
        "reserved",
    )
    assert await pool(ctx, placed.pool_id) == (10, 2)
    assert await _stored_events(ctx) == 0


# 2. A partial capture is not a payment --------------------------------------------------------------------


async def test_a_signed_event_for_a_cent_of_a_65_61_order_leaves_it_unpaid_with_the_shortfall_shown(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    placed = await _order_of(client, ctx, "60.61")
    assert placed.order["totals"]["total"] == "65.61"
    payment = await start_payment(client, placed)
    reference = await _reference(ctx, payment["id"])
    body, headers = _signed(ctx, _succeeded(reference, 1, "evt_cent"))
    assert data(await client.post(WEBHOOK, content=body, headers=headers))["duplicate"] is False
    await ctx.jobs.run_until_idle()

    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"], order["stock_state"]) == (
        "pending",
        "awaiting",
        "reserved",
    )
    assert await pool(ctx, placed.pool_id) == (4, 1)
    # Staff read the shortfall on the order.
    staff = await staff_headers(client, ctx, email="books@example.com", role="admin")
    shown = data(await client.get(f"/api/v1/admin/orders/{placed.order['id']}", headers=staff))
    partial = [e for e in shown["timeline"] if e["kind"] == "payment_partial"]
    assert len(partial) == 1
    assert (partial[0]["data"]["received"], partial[0]["data"]["due"]) == ("0.01", "65.60")
    assert "65.60 USD is still due" in partial[0]["note"]
    ledger = data(await client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=staff))
    assert (ledger["captured"], ledger["payment_status"]) == ("0.01", "awaiting")
    # The shopper reads it on the order's page.
    client.cookies.set(ORDERS_COOKIE, f"{placed.order['id']}.{placed.order['access_token']}")
    page = await client.get(f"/orders/{placed.order['number']}/thanks")
    assert page.status_code == 200
    assert 'data-amount-due="65.60"' in page.text

    # Paying the rest pays the order: the next payment asks for what is due, not the whole total.
    rest = await start_payment(client, placed, key="pay-key-rest-01")
    assert rest["amount"] == "65.60"
    assert (await pay_with(client, rest, "4242424242424242")).status_code in (200, 303)
    await ctx.jobs.run_until_idle()
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"], order["stock_state"]) == (
        "confirmed",
        "paid",
        "deducted",
    )


async def test_a_capture_of_the_whole_total_pays_the_order(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    placed = await _order_of(client, ctx, "60.61")
    payment = await start_payment(client, placed)
    body, headers = _signed(ctx, _succeeded(await _reference(ctx, payment["id"]), 6561, "evt_full"))
    data(await client.post(WEBHOOK, content=body, headers=headers))
    await ctx.jobs.run_until_idle()
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    assert not [e for e in order["timeline"] if e["kind"] == "payment_partial"]


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        (6561 * 1000, "USD"),  # orders of magnitude above the order
        (2**63, "USD"),  # past BIGINT
        (10**40, "USD"),
        ("1e400", "USD"),  # a JSON number read as infinity
        (-6561, "USD"),
        (0, "USD"),
        (6561, "EUR"),  # the right figure in another currency
    ],
)
async def test_an_absurd_amount_is_refused_and_stored_nowhere(
    client: httpx.AsyncClient, ctx: AppContext, amount: Any, currency: str
) -> None:
    placed = await _order_of(client, ctx, "60.61")
    payment = await start_payment(client, placed)
    event = _succeeded(await _reference(ctx, payment["id"]), amount, "evt_absurd", currency)
    body, headers = _signed(ctx, event)
    if amount == "1e400":
        body = body.replace(b'"1e400"', b"1e400")
        headers = {SIGNATURE_HEADER: signing.sign(body, webhook_secret(ctx.settings))}
    assert error(await client.post(WEBHOOK, content=body, headers=headers), 400)["code"] == "WEBHOOK_INVALID"
    await ctx.jobs.run_until_idle()
    assert await _stored_events(ctx) == 0
    async with ctx.db.session() as session:
        assert (await session.execute(select(func.count()).select_from(PaymentTransaction))).scalar_one() == 0
    assert (await order_view(client, placed))["payment_status"] == "awaiting"


# 3. One refund per key ------------------------------------------------------------------------------------


async def test_a_refund_key_reused_with_another_amount_is_refused(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    placed = await guest_order(client, ctx)
    payment = await start_payment(client, placed)
    await pay_with(client, payment, "4242424242424242")
    await ctx.jobs.run_until_idle()
    staff = await staff_headers(client, ctx, email="refunds@example.com", role="admin")
    headers = {**staff, "Idempotency-Key": "refund-reuse-0001"}
    body = {"order_id": placed.order["id"], "amount": "10.00", "reason": "torn"}
    first = data(await client.post("/api/v1/payments/refund", json=body, headers=headers), 201)
    # The same request again is the same refund.
    assert (
        data(await client.post("/api/v1/payments/refund", json=body, headers=headers), 201)["id"]
        == first["id"]
    )
    for changed in ({**body, "amount": "20.00"}, {**body, "reason": "lost"}, {**body, "amount": None}):
        refused = await client.post("/api/v1/payments/refund", json=changed, headers=headers)
        assert error(refused, 409)["code"] == "IDEMPOTENCY_KEY_REUSED"
    ledger = data(await client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=staff))
    assert (ledger["refunded"], ledger["refundable"]) == ("10.00", "35.00")
