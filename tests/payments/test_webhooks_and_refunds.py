"""Webhooks verified and deduplicated, refunds bounded by what was captured, money staff record."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.payments.gateways import signing
from emporium.payments.gateways.test.gateway import SIGNATURE_HEADER, webhook_secret
from emporium.payments.models import PaymentTransaction, WebhookEvent
from tests.conftest import MakeContext
from tests.inventory.factory import staff_headers
from tests.payments.conftest import GuestOrder, guest_order, order_view, pay_with, pool, start_payment
from tests.support import asgi_client, data, error

WEBHOOK = "/api/v1/payments/webhook/test"


def _event(reference: str, state: str, amount: int, event_id: str = "evt_1") -> dict[str, Any]:
    return {
        "id": event_id,
        "type": f"payment.{state}",
        "data": {"reference": reference, "state": state, "amount_minor": amount, "currency": "USD"},
    }


def _signed(ctx: AppContext, event: dict[str, Any], *, at: int | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, {
        SIGNATURE_HEADER: signing.sign(body, webhook_secret(ctx.settings), at),
        "content-type": "application/json",
    }


async def _reference(ctx: AppContext, payment_id: int) -> str:
    from emporium.payments.models import Payment

    async with ctx.db.session() as session:
        payment = await session.get(Payment, payment_id)
        assert payment is not None
        return payment.reference


@pytest.fixture
async def refunder(client: httpx.AsyncClient, ctx: AppContext) -> dict[str, str]:
    return await staff_headers(client, ctx, email="refunds@example.com", role="admin")


async def _paid(client: httpx.AsyncClient, ctx: AppContext) -> GuestOrder:
    placed = await guest_order(client, ctx)
    payment = await start_payment(client, placed)
    await pay_with(client, payment, "4242424242424242")
    await ctx.jobs.run_until_idle()
    return placed


async def test_forged_stale_and_reserialised_webhooks_are_refused(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    placed = await guest_order(client, ctx)
    payment = await start_payment(client, placed)
    reference = await _reference(ctx, payment["id"])
    event = _event(reference, "succeeded", 4500)
    body, headers = _signed(ctx, event)

    forged = {**headers, SIGNATURE_HEADER: signing.sign(body, "not-the-secret")}
    stale_body, stale = _signed(ctx, event, at=int(time.time()) - 3600)
    reserialised = json.dumps(
        event, indent=2
    ).encode()  # same content, other bytes: the signature no longer fits
    for sent_body, sent_headers in (
        (body, forged),
        (stale_body, stale),
        (reserialised, headers),
        (body, {"content-type": "application/json"}),
        (b"not json", {SIGNATURE_HEADER: signing.sign(b"not json", webhook_secret(ctx.settings))}),
    ):
        assert (
            error(await client.post(WEBHOOK, content=sent_body, headers=sent_headers), 400)["code"]
            == "WEBHOOK_INVALID"
        )
    assert error(
        await client.post("/api/v1/payments/webhook/nosuchgateway", content=body, headers=headers), 400
    )
    await ctx.jobs.run_until_idle()
    assert (await order_view(client, placed))["payment_status"] == "awaiting"

    accepted = data(await client.post(WEBHOOK, content=body, headers=headers))
    assert accepted == {"received": True, "duplicate": False}
    await ctx.jobs.run_until_idle()
    assert (await order_view(client, placed))["payment_status"] == "paid"


async def test_a_late_failure_never_undoes_a_capture(client: httpx.AsyncClient, ctx: AppContext) -> None:
    placed = await guest_order(client, ctx)
    payment = await start_payment(client, placed)
    reference = await _reference(ctx, payment["id"])
    for event in (_event(reference, "succeeded", 4500, "evt_a"), _event(reference, "failed", 4500, "evt_b")):
        body, headers = _signed(ctx, event)
        data(await client.post(WEBHOOK, content=body, headers=headers))
    await ctx.jobs.run_until_idle()
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")


async def test_an_unknown_event_is_acknowledged_and_ignored(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    body, headers = _signed(
        ctx, {"id": "evt_x", "type": "account.updated", "data": {"reference": "tg_nope", "amount_minor": 1}}
    )
    assert data(await client.post(WEBHOOK, content=body, headers=headers)) == {
        "received": True,
        "duplicate": False,
    }
    await ctx.jobs.run_until_idle()


async def test_five_simultaneous_deliveries_have_one_effect(make_committed_context: MakeContext) -> None:
    ctx = make_committed_context()
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx)
        payment = await start_payment(client, placed)
        body, headers = _signed(
            ctx, _event(await _reference(ctx, payment["id"]), "succeeded", 4500, "evt_dup")
        )
        responses = await asyncio.gather(
            *(client.post(WEBHOOK, content=body, headers=headers) for _ in range(5))
        )
        assert sorted(r.json()["data"]["duplicate"] for r in responses) == [False, True, True, True, True]
        await ctx.jobs.run_until_idle()
        assert (await order_view(client, placed))["payment_status"] == "paid"
    async with ctx.db.session() as session:
        assert (await session.execute(select(func.count()).select_from(WebhookEvent))).scalar_one() == 1
        captures = await session.execute(select(func.count()).select_from(PaymentTransaction))
        assert captures.scalar_one() == 1


async def test_partial_and_full_refunds(
    client: httpx.AsyncClient, ctx: AppContext, refunder: dict[str, str]
) -> None:
    placed = await _paid(client, ctx)
    order_id = placed.order["id"]
    first = await client.post(
        "/api/v1/payments/refund",
        json={"order_id": order_id, "amount": "10.00", "reason": "one shirt arrived torn"},
        headers={**refunder, "Idempotency-Key": "refund-0001-aaaa"},
    )
    assert data(first, 201)["amount"] == "10.00"
    again = await client.post(
        "/api/v1/payments/refund",
        json={"order_id": order_id, "amount": "10.00", "reason": "one shirt arrived torn"},
        headers={**refunder, "Idempotency-Key": "refund-0001-aaaa"},
    )
    assert data(again, 201)["id"] == data(first, 201)["id"]
    assert (await order_view(client, placed))["payment_status"] == "partially_refunded"
    too_much = await client.post(
        "/api/v1/payments/refund",
        json={"order_id": order_id, "amount": "35.01", "reason": "too much"},
        headers={**refunder, "Idempotency-Key": "refund-0002-bbbb"},
    )
    assert error(too_much, 409)["code"] == "REFUND_EXCEEDS_CAPTURED"
    rest = await client.post(
        "/api/v1/payments/refund",
        json={"order_id": order_id, "reason": "the rest"},
        headers={**refunder, "Idempotency-Key": "refund-0003-cccc"},
    )
    assert data(rest, 201)["amount"] == "35.00"
    ledger = data(await client.get(f"/api/v1/orders/{order_id}/payments", headers=placed.headers))
    assert (ledger["payment_status"], ledger["refunded"], ledger["refundable"]) == (
        "refunded",
        "45.00",
        "0.00",
    )
    for body, key in (
        ({"order_id": order_id, "amount": "-1", "reason": "x"}, "refund-neg-0001"),
        ({"order_id": order_id, "amount": "1.001", "reason": "x"}, "refund-pre-0001"),
        ({"order_id": order_id, "amount": 1.5, "reason": "x"}, "refund-flt-0001"),
    ):
        assert error(
            await client.post(
                "/api/v1/payments/refund", json=body, headers={**refunder, "Idempotency-Key": key}
            ),
            422,
        )
    no_key = await client.post(
        "/api/v1/payments/refund", json={"order_id": order_id, "reason": "x"}, headers=refunder
    )
    assert error(no_key, 422)


async def test_only_staff_with_refunds_create_may_refund(client: httpx.AsyncClient, ctx: AppContext) -> None:
    placed = await _paid(client, ctx)
    support = await staff_headers(client, ctx, email="support-refund@example.com", role="support")
    body = {"order_id": placed.order["id"], "reason": "x"}
    assert error(
        await client.post(
            "/api/v1/payments/refund", json=body, headers={**support, "Idempotency-Key": "k-000000001"}
        ),
        403,
    )
    assert error(
        await client.post("/api/v1/payments/refund", json=body, headers={"Idempotency-Key": "k-000000002"}),
        401,
    )


async def test_two_refunds_racing_never_exceed_the_capture(make_committed_context: MakeContext) -> None:
    ctx = make_committed_context()
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await _paid(client, ctx)
        refunder = await staff_headers(client, ctx, email="racer@example.com", role="admin")
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/payments/refund",
                    json={"order_id": placed.order["id"], "amount": "30.00", "reason": f"race {i}"},
                    headers={**refunder, "Idempotency-Key": f"race-refund-{i:04d}"},
                )
                for i in range(2)
            )
        )
        assert sorted(r.status_code for r in responses) == [201, 409]
        ledger = data(
            await client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=placed.headers)
        )
        assert (ledger["refunded"], ledger["refundable"]) == ("30.00", "15.00")


async def test_cancelling_a_paid_order_refunds_it(client: httpx.AsyncClient, ctx: AppContext) -> None:
    placed = await _paid(client, ctx)
    cancelled = data(await client.put(f"/api/v1/orders/{placed.order['id']}/cancel", headers=placed.headers))
    assert cancelled["stock_state"] == "restocked"
    await ctx.jobs.run_until_idle()
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("refunded", "refunded")
    assert await pool(ctx, placed.pool_id) == (10, 0)


async def test_money_arriving_for_a_cancelled_order_goes_back(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    placed = await guest_order(client, ctx)
    payment = await start_payment(client, placed)
    data(await client.put(f"/api/v1/orders/{placed.order['id']}/cancel", headers=placed.headers))
    await pay_with(client, payment, "4242424242424242")  # the shopper paid in another tab meanwhile
    await ctx.jobs.run_until_idle()
    order = await order_view(client, placed)
    assert order["status"] == "refunded"
    assert order["payment_status"] == "refunded"
    assert "payment_after_cancel" in [e["kind"] for e in order["timeline"]]
    assert await pool(ctx, placed.pool_id) == (10, 0)


async def test_methods_not_enabled_are_refused_at_checkout(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    methods = data(await client.get("/api/v1/payments/methods"))
    assert [(m["code"], m["online"]) for m in methods] == [("test", True), ("cash_on_delivery", False)]
    with pytest.raises(AssertionError, match="PAYMENT_METHOD_UNAVAILABLE"):
        await guest_order(client, ctx, payment_method="bank_transfer")


@pytest.fixture
def with_bank_transfer(make_context: MakeContext) -> AppContext:
    return make_context(payment_methods=["test", "bank_transfer", "cash_on_delivery"])


async def test_staff_record_the_transfer(with_bank_transfer: AppContext) -> None:
    ctx = with_bank_transfer
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bank_transfer")
        assert placed.order["payment_status"] == "pending_verification"
        # Staff have until the offline deadline to record the transfer (tests/orders/test_limits.py).
        assert placed.order["expires_at"] is not None
        methods = {m["code"]: m for m in data(await client.get("/api/v1/payments/methods"))}
        assert "quoting your order number" in methods["bank_transfer"]["instructions"]
        assert error(
            await client.post(
                "/api/v1/payments/create-intent",
                json={"order_id": placed.order["id"]},
                headers=placed.headers,
            ),
            409,
        )
        admin = await staff_headers(client, ctx, email="transfers@example.com", role="admin")
        moderator = await staff_headers(client, ctx, email="mod-transfers@example.com", role="moderator")
        body = {"order_id": placed.order["id"], "amount": "45.00", "reference": "BANK-REF-1"}
        assert error(
            await client.post("/api/v1/payments/bank-transfer/verify", json=body, headers=moderator), 403
        )
        short = {**body, "amount": "44.99"}
        assert (
            error(await client.post("/api/v1/payments/bank-transfer/verify", json=short, headers=admin), 422)[
                "code"
            ]
            == "AMOUNT_MISMATCH"
        )
        recorded = data(await client.post("/api/v1/payments/bank-transfer/verify", json=body, headers=admin))
        assert recorded == {"payment_status": "paid", "status": "confirmed"}
        # Recorded and confirmed: it no longer expires.
        shown = data(await client.get(f"/api/v1/orders/{placed.order['id']}", headers=placed.headers))
        assert shown["expires_at"] is None
        assert await pool(ctx, placed.pool_id) == (8, 0)
        assert error(
            await client.post("/api/v1/payments/bank-transfer/verify", json=body, headers=admin), 409
        )


@pytest.mark.parametrize(
    "body",
    [
        {"order_id": 1, "card_number": "4242424242424242"},
        {"order_id": 1, "card": {"number": "x", "cvc": "123"}},
        {"order_id": 1, "exp_month": 12},
        {"order_id": 1, "note": "4111 1111 1111 1111"},
        {"order_id": 1, "nested": [{"CVV": "123"}]},
    ],
)
async def test_card_data_never_reaches_the_api(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/api/v1/payments/create-intent", json=body)
    assert error(response, 422)["code"] == "CARD_DATA_REFUSED"
    assert "4242" not in response.text
