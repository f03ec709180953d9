"""The PayPal gateway against a fake PayPal REST server on loopback (tests/payments/gateways/fake_paypal.py):
orders for the server-side total, captures made once however often or concurrently the shop asks,
declines, webhooks verified by PayPal's verify call and deduplicated, refunds both ways, OAuth tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.payments.gateways.base import GatewayError
from emporium.payments.gateways.paypal.gateway import PayPalGateway
from emporium.payments.models import PaymentTransaction, WebhookEvent
from tests.conftest import MakeContext
from tests.inventory.factory import staff_headers
from tests.payments.conftest import GuestOrder, guest_order, order_view, pool, start_payment
from tests.payments.gateways.fake_paypal import FakePayPal
from tests.support import asgi_client, data, error, free_port

WEBHOOK = "/api/v1/payments/webhook/paypal"
CONFIRM = "/api/v1/payments/confirm"


@pytest.fixture
def paypal() -> Iterator[FakePayPal]:
    fake = FakePayPal()
    fake.start()
    yield fake
    fake.stop()


def paypal_settings(fake: FakePayPal, **overrides: object) -> dict[str, object]:
    return {
        "payment_methods": ["paypal", "test"],
        "paypal_client_id": fake.client_id,
        "paypal_client_secret": fake.client_secret,
        "paypal_webhook_id": fake.webhook_id,
        "paypal_api_base": fake.url,
        "payment_http_timeout_seconds": 5,
        **overrides,
    }


@pytest.fixture
async def shop(
    make_context: MakeContext, paypal: FakePayPal
) -> AsyncIterator[tuple[AppContext, httpx.AsyncClient]]:
    ctx = make_context(**paypal_settings(paypal))
    async with asgi_client(create_app(ctx=ctx)) as client:
        yield ctx, client


@pytest.fixture
async def refunder(shop: tuple[AppContext, httpx.AsyncClient]) -> dict[str, str]:
    ctx, client = shop
    return await staff_headers(client, ctx, email="paypal-refunds@example.com", role="admin")


async def _started(client: httpx.AsyncClient, ctx: AppContext) -> tuple[GuestOrder, dict[str, Any]]:
    placed = await guest_order(client, ctx, payment_method="paypal")
    return placed, await start_payment(client, placed)


async def _confirm(client: httpx.AsyncClient, placed: GuestOrder, payment: dict[str, Any]) -> httpx.Response:
    return await client.post(CONFIRM, json={"payment_id": payment["id"]}, headers=placed.headers)


async def _ledger(client: httpx.AsyncClient, placed: GuestOrder) -> dict[str, Any]:
    shown: dict[str, Any] = data(
        await client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=placed.headers)
    )
    return shown


async def _paid(
    client: httpx.AsyncClient, ctx: AppContext, paypal: FakePayPal
) -> tuple[GuestOrder, dict[str, Any]]:
    placed, payment = await _started(client, ctx)
    paypal.approve(payment["details"]["paypal_order_id"])
    assert data(await _confirm(client, placed, payment))["state"] == "succeeded"
    return placed, payment


async def _count(ctx: AppContext, model: type[Any]) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_start_creates_an_order_for_the_server_side_total(
    shop: tuple[AppContext, httpx.AsyncClient], paypal: FakePayPal
) -> None:
    ctx, client = shop
    placed, payment = await _started(client, ctx)
    order_id = payment["details"]["paypal_order_id"]
    at_paypal = paypal.order_of(order_id)
    unit = at_paypal["purchase_units"][0]
    assert at_paypal["intent"] == "CAPTURE"
    assert unit["amount"] == {"currency_code": "USD", "value": "45.00"}  # 2 x 20.00 + 5.00 shipping
    assert (unit["reference_id"], unit["custom_id"]) == (placed.order["number"], str(placed.order["id"]))
    context = paypal.orders[order_id]["experience_context"]
    assert context["return_url"] == f"http://shop.test/orders/{placed.order['id']}/paid"
    assert context["cancel_url"].startswith(f"http://shop.test/orders/{placed.order['id']}")
    assert payment["state"] == "requires_action"
    assert payment["next_action"] == {"type": "redirect", "url": f"{paypal.url}/checkoutnow?token={order_id}"}
    assert payment["amount"] == "45.00"

    # Asking again before the buyer approved: still waiting, the same order, no new token.
    again = data(await _confirm(client, placed, payment))
    assert (again["state"], again["next_action"]["url"]) == ("requires_action", payment["next_action"]["url"])
    data(await _confirm(client, placed, payment))
    assert len(paypal.calls("POST", "/v2/checkout/orders")) == 1
    assert len(paypal.calls("GET", r"/v2/checkout/orders/\w+")) == 2
    assert paypal.token_requests == 1
    assert not paypal.calls("POST", r"/v2/checkout/orders/\w+/capture")


@pytest.mark.parametrize("broken", ["wrong secret", "unreachable"])
async def test_wrong_credentials_or_no_paypal_refuse_the_start(
    make_context: MakeContext, paypal: FakePayPal, broken: str
) -> None:
    overrides: dict[str, object] = (
        {"paypal_client_secret": "not-the-secret"}
        if broken == "wrong secret"
        else {"paypal_api_base": f"http://127.0.0.1:{free_port()}"}
    )
    ctx = make_context(**paypal_settings(paypal, **overrides))
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="paypal")
        response = await client.post(
            "/api/v1/payments/create-intent",
            json={"order_id": placed.order["id"]},
            headers={**placed.headers, "Idempotency-Key": "pay-key-000001"},
        )
        assert error(response, 409)["code"] == "PAYMENT_NOT_POSSIBLE"
        assert (await order_view(client, placed))["payment_status"] == "awaiting"
        assert (
            data(await client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=placed.headers))[
                "payments"
            ]
            == []
        )
    assert paypal.orders == {}


async def test_approval_then_confirm_captures_once(
    shop: tuple[AppContext, httpx.AsyncClient], paypal: FakePayPal
) -> None:
    ctx, client = shop
    placed, payment = await _started(client, ctx)
    order_id = payment["details"]["paypal_order_id"]
    paypal.approve(order_id)
    first = data(await _confirm(client, placed, payment))
    second = data(await _confirm(client, placed, payment))
    assert (first["state"], second["state"]) == ("succeeded", "succeeded")
    capture_id = paypal.order_of(order_id)["purchase_units"][0]["payments"]["captures"][0]["id"]
    assert first["details"]["capture_id"] == capture_id
    captures = paypal.calls("POST", rf"/v2/checkout/orders/{order_id}/capture")
    assert len(captures) == 1
    assert captures[0].headers["paypal-request-id"] == f"capture-{order_id}"
    assert len(paypal.captures) == 1
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    assert await pool(ctx, placed.pool_id) == (8, 0)
    ledger = await _ledger(client, placed)
    assert [(t["kind"], t["status"], t["amount"]) for t in ledger["transactions"]] == [
        ("capture", "succeeded", "45.00")
    ]


async def test_a_capture_retried_with_its_request_id_is_the_same_capture(
    shop: tuple[AppContext, httpx.AsyncClient], paypal: FakePayPal
) -> None:
    ctx, client = shop
    _placed, payment = await _started(client, ctx)
    order_id = payment["details"]["paypal_order_id"]
    paypal.approve(order_id)
    gateway = PayPalGateway(ctx.settings)
    async with ctx.db.session() as session:
        results = await asyncio.gather(*(gateway.retrieve(session, order_id) for _ in range(3)))
    assert {r.state for r in results} == {"succeeded"}
    assert len({r.details["capture_id"] for r in results}) == 1
    assert len(paypal.captures) == 1
    assert paypal.token_requests == 1


async def test_concurrent_confirms_capture_once(
    make_committed_context: MakeContext, paypal: FakePayPal
) -> None:
    ctx = make_committed_context(**paypal_settings(paypal))
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed, payment = await _started(client, ctx)
        paypal.approve(payment["details"]["paypal_order_id"])
        responses = await asyncio.gather(*(_confirm(client, placed, payment) for _ in range(5)))
        assert [data(r)["state"] for r in responses] == ["succeeded"] * 5
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
        assert await pool(ctx, placed.pool_id) == (8, 0)
    assert len(paypal.captures) == 1
    assert await _count(ctx, PaymentTransaction) == 1


@pytest.mark.parametrize("decline", ["DECLINED", "INSTRUMENT_DECLINED"])
async def test_a_declined_capture_keeps_the_order_pending_and_reserved(
    shop: tuple[AppContext, httpx.AsyncClient], paypal: FakePayPal, decline: str
) -> None:
    ctx, client = shop
    placed, payment = await _started(client, ctx)
    order_id = payment["details"]["paypal_order_id"]
    paypal.declines[order_id] = decline
    paypal.approve(order_id)
    failed = data(await _confirm(client, placed, payment))
    assert failed["state"] == "failed"
    assert "declined" in failed["error"].lower()
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("pending", "failed")
    assert await pool(ctx, placed.pool_id) == (10, 2)
    assert (await _ledger(client, placed))["captured"] == "0.00"

    # The shopper may try again: a new PayPal order, paid this time.
    retry = await start_payment(client, placed, key="pay-key-000002")
    assert retry["details"]["paypal_order_id"] != order_id
    paypal.approve(retry["details"]["paypal_order_id"])
    assert data(await _confirm(client, placed, retry))["state"] == "succeeded"
    assert (await order_view(client, placed))["payment_status"] == "paid"


async def test_a_voided_order_cancels_the_payment(
    shop: tuple[AppContext, httpx.AsyncClient], paypal: FakePayPal
) -> None:
    ctx, client = shop
    placed, payment = await _started(client, ctx)
    paypal.void(payment["details"]["paypal_order_id"])
    assert data(await _confirm(client, placed, payment))["state"] == "canceled"
    assert (await order_view(client, placed))["status"] == "pending"
    assert await pool(ctx, placed.pool_id) == (10, 2)


async def test_webhooks_paypal_does_not_verify_are_refused_and_change_nothing(
    make_context: MakeContext, shop: tuple[AppContext, httpx.AsyncClient], paypal: FakePayPal
) -> None:
    ctx, client = shop
    placed, payment = await _started(client, ctx)
    order_id = payment["details"]["paypal_order_id"]
    paypal.approve(order_id)
    capture = paypal.capture_now(order_id)["purchase_units"][0]["payments"]["captures"][0]
    event = paypal.event("PAYMENT.CAPTURE.COMPLETED", capture)
    body, headers = paypal.delivery(event)

    paypal.verification_override = "FAILURE"
    assert error(await client.post(WEBHOOK, content=body, headers=headers), 400)["code"] == "WEBHOOK_INVALID"
    paypal.verification_override = None
    tampered = body.replace(b'"45.00"', b'"0.01"')
    assert tampered != body
    for sent_body, sent_headers in (
        (tampered, headers),
        (body, {k: v for k, v in headers.items() if k != "PAYPAL-TRANSMISSION-SIG"}),
        (body, {"Content-Type": "application/json"}),
        (b"not json", headers),
        (b"[1, 2]", headers),
    ):
        assert error(await client.post(WEBHOOK, content=sent_body, headers=sent_headers), 400)
    # Another shop's webhook id, and PayPal out of reach: refused as well.
    for overrides in (
        {"paypal_webhook_id": "8PT597110X687430LKGECATA"},
        {"paypal_api_base": f"http://127.0.0.1:{free_port()}"},
    ):
        other = make_context(**paypal_settings(paypal, **overrides))
        async with asgi_client(create_app(ctx=other)) as other_client:
            assert error(await other_client.post(WEBHOOK, content=body, headers=headers), 400)
    await ctx.jobs.run_until_idle()
    assert await _count(ctx, WebhookEvent) == 0
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("pending", "awaiting")

    assert data(await client.post(WEBHOOK, content=body, headers=headers)) == {
        "received": True,
        "duplicate": False,
    }
    await ctx.jobs.run_until_idle()
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")


async def test_a_late_denial_changes_nothing_and_a_refund_finds_the_capture(
    shop: tuple[AppContext, httpx.AsyncClient], paypal: FakePayPal, refunder: dict[str, str]
) -> None:
    ctx, client = shop
    placed, payment = await _started(client, ctx)
    order_id = payment["details"]["paypal_order_id"]
    paypal.approve(order_id)
    capture = paypal.capture_now(order_id)["purchase_units"][0]["payments"]["captures"][0]
    for event in (
        paypal.event("PAYMENT.CAPTURE.COMPLETED", capture),
        paypal.event("PAYMENT.CAPTURE.DENIED", {**capture, "status": "DECLINED"}),
    ):
        body, headers = paypal.delivery(event)
        data(await client.post(WEBHOOK, content=body, headers=headers))
    await ctx.jobs.run_until_idle()
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    assert len((await _ledger(client, placed))["transactions"]) == 1

    # Captured while the shop was not looking: the refund asks PayPal which capture it was.
    refund = await client.post(
        "/api/v1/payments/refund",
        json={"order_id": placed.order["id"], "reason": "changed my mind"},
        headers={**refunder, "Idempotency-Key": "paypal-refund-all-1"},
    )
    assert data(refund, 201)["amount"] == "45.00"
    sent = paypal.calls("POST", rf"/v2/payments/captures/{capture['id']}/refund")
    assert [r.body["amount"] for r in sent] == [{"currency_code": "USD", "value": "45.00"}]
    assert paypal.captures[capture["id"]]["status"] == "REFUNDED"


async def test_an_approval_webhook_captures_in_the_job(
    shop: tuple[AppContext, httpx.AsyncClient], paypal: FakePayPal
) -> None:
    ctx, client = shop
    placed, payment = await _started(client, ctx)
    order_id = payment["details"]["paypal_order_id"]
    paypal.approve(order_id)
    body, headers = paypal.delivery(paypal.event("CHECKOUT.ORDER.APPROVED", paypal.order_of(order_id)))
    assert data(await client.post(WEBHOOK, content=body, headers=headers))["duplicate"] is False
    assert paypal.captures == {}  # not in the request
    await ctx.jobs.run_until_idle()
    assert len(paypal.captures) == 1
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    # The buyer's browser coming back afterwards finds it paid; nothing is captured twice.
    assert data(await _confirm(client, placed, payment))["state"] == "succeeded"
    assert len(paypal.calls("POST", r"/v2/checkout/orders/\w+/capture")) == 1


async def test_an_unknown_event_is_acknowledged_and_ignored(
    shop: tuple[AppContext, httpx.AsyncClient], paypal: FakePayPal
) -> None:
    ctx, client = shop
    body, headers = paypal.delivery(paypal.event("CUSTOMER.DISPUTE.CREATED", {"dispute_id": "PP-D-1"}))
    assert data(await client.post(WEBHOOK, content=body, headers=headers))["duplicate"] is False
    await ctx.jobs.run_until_idle()
    assert await _count(ctx, PaymentTransaction) == 0


async def test_five_simultaneous_deliveries_have_one_effect(
    make_committed_context: MakeContext, paypal: FakePayPal
) -> None:
    ctx = make_committed_context(**paypal_settings(paypal))
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed, payment = await _started(client, ctx)
        order_id = payment["details"]["paypal_order_id"]
        paypal.approve(order_id)
        capture = paypal.capture_now(order_id)["purchase_units"][0]["payments"]["captures"][0]
        body, headers = paypal.delivery(paypal.event("PAYMENT.CAPTURE.COMPLETED", capture))
        responses = await asyncio.gather(
            *(client.post(WEBHOOK, content=body, headers=headers) for _ in range(5))
        )
        assert sorted(data(r)["duplicate"] for r in responses) == [False, True, True, True, True]
        await ctx.jobs.run_until_idle()
        assert (await order_view(client, placed))["payment_status"] == "paid"
    assert await _count(ctx, WebhookEvent) == 1
    assert await _count(ctx, PaymentTransaction) == 1


async def test_a_refund_made_at_paypal_is_recorded_once(
    shop: tuple[AppContext, httpx.AsyncClient], paypal: FakePayPal
) -> None:
    ctx, client = shop
    placed, _payment = await _paid(client, ctx, paypal)
    capture_id = next(iter(paypal.captures))
    refund = paypal.refund_in_dashboard(capture_id, "15.00")
    event = paypal.event("PAYMENT.CAPTURE.REFUNDED", refund)
    for delivery in (event, event, {**event, "id": "WH-RESENT-WITH-ANOTHER-ID"}):
        body, headers = paypal.delivery(delivery)
        data(await client.post(WEBHOOK, content=body, headers=headers))
    await ctx.jobs.run_until_idle()
    ledger = await _ledger(client, placed)
    assert [(t["kind"], t["amount"]) for t in ledger["transactions"]] == [
        ("capture", "45.00"),
        ("refund", "15.00"),
    ]
    assert (ledger["payment_status"], ledger["refundable"]) == ("partially_refunded", "30.00")
    assert await _count(ctx, WebhookEvent) == 2


async def test_staff_refunds_reach_paypal_with_decimal_amounts(
    shop: tuple[AppContext, httpx.AsyncClient], paypal: FakePayPal, refunder: dict[str, str]
) -> None:
    ctx, client = shop
    placed, _payment = await _paid(client, ctx, paypal)
    capture_id = next(iter(paypal.captures))

    def refund(amount: str | None, key: str) -> Any:
        body: dict[str, Any] = {"order_id": placed.order["id"], "reason": "one shirt arrived torn"}
        if amount is not None:
            body["amount"] = amount
        return client.post("/api/v1/payments/refund", json=body, headers={**refunder, "Idempotency-Key": key})

    first = data(await refund("10.00", "paypal-refund-0001"), 201)
    assert data(await refund("10.00", "paypal-refund-0001"), 201)["id"] == first["id"]
    sent = paypal.calls("POST", rf"/v2/payments/captures/{capture_id}/refund")
    assert len(sent) == 1
    assert sent[0].body["amount"] == {"currency_code": "USD", "value": "10.00"}
    assert sent[0].headers["paypal-request-id"].startswith("emporium-refund-")
    assert first["gateway_reference"] in paypal.refunds

    assert error(await refund("35.01", "paypal-refund-0002"), 409)["code"] == "REFUND_EXCEEDS_CAPTURED"
    assert len(paypal.calls("POST", r"/v2/payments/captures/\w+/refund")) == 1

    # PayPal knows of a refund the shop does not (made in its dashboard): PayPal refuses, nothing recorded.
    paypal.refund_in_dashboard(capture_id, "30.00")
    refused = error(await refund("35.00", "paypal-refund-0003"), 409)
    assert "REFUND_AMOUNT_EXCEEDED" in refused["message"]
    ledger = await _ledger(client, placed)
    assert (ledger["refunded"], ledger["refundable"]) == ("10.00", "35.00")

    assert data(await refund("5.00", "paypal-refund-0004"), 201)["amount"] == "5.00"
    assert paypal.captures[capture_id]["status"] == "REFUNDED"


async def test_an_expired_token_is_fetched_again(
    shop: tuple[AppContext, httpx.AsyncClient], paypal: FakePayPal
) -> None:
    ctx, client = shop
    placed, payment = await _started(client, ctx)
    assert paypal.token_requests == 1
    paypal.expire_tokens()  # PayPal drops it before the shop thought it would
    assert data(await _confirm(client, placed, payment))["state"] == "requires_action"
    assert paypal.token_requests == 2
    assert len(paypal.calls("GET", r"/v2/checkout/orders/\w+")) == 2  # the 401 and its retry

    # A token close to its end is never sent: the next call fetches a new one first.
    paypal.token_lifetime = 60
    paypal.expire_tokens()
    data(await _confirm(client, placed, payment))  # 401, then a token that lives 60 s
    assert paypal.token_requests == 3
    data(await _confirm(client, placed, payment))
    assert paypal.token_requests == 4
    assert len(paypal.calls("GET", r"/v2/checkout/orders/\w+")) == 5
    assert paypal.calls("POST", "/v1/oauth2/token")[-1].body == "grant_type=client_credentials"


async def test_network_errors_and_timeouts_are_retryable(
    make_context: MakeContext, paypal: FakePayPal
) -> None:
    slow = make_context(**paypal_settings(paypal, payment_http_timeout_seconds=0.2))
    paypal.delay = 0.5
    async with slow.db.session() as session:
        with pytest.raises(GatewayError) as timed_out:
            await PayPalGateway(slow.settings).retrieve(session, "5O190127TN364715T")
        assert timed_out.value.retryable
        paypal.delay = 0
        gone = make_context(**paypal_settings(paypal, paypal_api_base=f"http://127.0.0.1:{free_port()}"))
        with pytest.raises(GatewayError) as unreachable:
            await PayPalGateway(gone.settings).retrieve(session, "5O190127TN364715T")
        assert unreachable.value.retryable
        with pytest.raises(GatewayError) as missing:
            await PayPalGateway(slow.settings).retrieve(session, "NOSUCHORDER000000")
        assert not missing.value.retryable
        assert "RESOURCE_NOT_FOUND" in str(missing.value)
