"""The Razorpay gateway end to end (seed 003), through Emporium's API and the official SDK, against a fake
Razorpay API on loopback: Checkout's signed callback, capture, webhooks, refunds and failures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.payments.gateways.base import GatewayError, RefundRequest, StartRequest
from emporium.payments.gateways.razorpay.gateway import RazorpayGateway
from emporium.payments.models import PaymentTransaction, WebhookEvent
from tests.conftest import MakeContext
from tests.inventory.factory import staff_headers
from tests.payments.conftest import GuestOrder, guest_order, order_view, pool, start_payment
from tests.payments.gateways.fake_razorpay import FakeRazorpay
from tests.support import asgi_client, data, error, free_port

KEY_ID = "rzp_test_EmporiumKey01"
KEY_SECRET = "rzp-key-secret-for-the-tests-0123"
WEBHOOK_SECRET = "rzp-webhook-secret-for-the-tests-0123"
VERIFY = "/api/v1/orders/verify-payment"
WEBHOOK = "/api/v1/webhooks/razorpay"


def razorpay_settings(api_base: str, **extra: object) -> dict[str, object]:
    return {
        "payment_methods": ["razorpay", "test", "cash_on_delivery"],
        "currency": "INR",
        "razorpay_key_id": KEY_ID,
        "razorpay_key_secret": KEY_SECRET,
        "razorpay_webhook_secret": WEBHOOK_SECRET,
        "razorpay_api_base": api_base,
        "payment_http_timeout_seconds": 2,
        **extra,
    }


@pytest.fixture
def fake() -> Iterator[FakeRazorpay]:
    server = FakeRazorpay(KEY_ID, KEY_SECRET, WEBHOOK_SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rz(make_context: MakeContext, fake: FakeRazorpay) -> AppContext:
    return make_context(**razorpay_settings(fake.url))


@pytest.fixture
async def client(rz: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(ctx=rz)) as http:
        yield http


async def _started(client: httpx.AsyncClient, ctx: AppContext) -> tuple[GuestOrder, dict[str, Any]]:
    placed = await guest_order(client, ctx, payment_method="razorpay")
    return placed, await start_payment(client, placed)


def _callback(placed: GuestOrder, rz_order: str, payment_id: str, signature: str) -> dict[str, Any]:
    return {
        "order_id": placed.order["id"],
        "razorpay_order_id": rz_order,
        "razorpay_payment_id": payment_id,
        "razorpay_signature": signature,
    }


async def _verify(
    client: httpx.AsyncClient, fake: FakeRazorpay, placed: GuestOrder, rz_order: str, payment_id: str
) -> httpx.Response:
    body = _callback(placed, rz_order, payment_id, fake.signature(rz_order, payment_id))
    return await client.post(VERIFY, json=body, headers={**placed.headers, "Idempotency-Key": "verify-0001"})


def _flipped(signature: str) -> str:
    return signature[:-1] + ("1" if signature[-1] == "0" else "0")


async def _ledger(client: httpx.AsyncClient, placed: GuestOrder) -> dict[str, Any]:
    shown: dict[str, Any] = data(
        await client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=placed.headers)
    )
    return shown


async def _count(ctx: AppContext, model: type[Any]) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_start_creates_a_razorpay_order_for_the_server_side_amount(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, payment = await _started(client, rz)
    sent = fake.calls_to("POST", "/v1/orders")[0].body
    assert sent == {
        "amount": 4500,  # 2 x 20.00 + 5.00 shipping, in paise
        "currency": "INR",
        "receipt": placed.order["number"],
        "notes": {"order_id": str(placed.order["id"]), "order_number": placed.order["number"]},
    }
    rz_order = fake.only_order()
    assert payment["state"] == "requires_action"
    assert payment["next_action"] == {
        "type": "razorpay_checkout",
        "key_id": KEY_ID,
        "order_id": rz_order["id"],
        "amount": 4500,
        "currency": "INR",
        "name": rz.settings.shop_name,
    }
    assert payment["details"] == {"razorpay_order_id": rz_order["id"]}
    assert KEY_SECRET not in json.dumps(payment)
    # Asking again hands out the same payment: no second Razorpay order.
    assert (await start_payment(client, placed, key="pay-key-000002"))["id"] == payment["id"]
    assert len(fake.calls_to("POST", "/v1/orders")) == 1


async def test_verified_payment_confirms_the_order_and_deducts_stock_once(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, payment = await _started(client, rz)
    rz_order = payment["next_action"]["order_id"]
    paid = fake.pay(rz_order, "captured", last4="4321")
    first = data(await _verify(client, fake, placed, rz_order, paid))
    assert (first["status"], first["payment_status"], first["payment_state"]) == (
        "confirmed",
        "paid",
        "succeeded",
    )
    again = data(await _verify(client, fake, placed, rz_order, paid))
    assert (again["status"], again["payment_status"]) == ("confirmed", "paid")
    assert await pool(rz, placed.pool_id) == (8, 0)
    ledger = await _ledger(client, placed)
    assert [(t["kind"], t["status"], t["amount"]) for t in ledger["transactions"]] == [
        ("capture", "succeeded", "45.00")
    ]
    shown = ledger["payments"][0]
    assert (shown["card_brand"], shown["card_last4"]) == ("visa", "4321")
    assert shown["details"]["razorpay_payment_id"] == paid
    assert fake.calls_to("POST", "/capture") == []  # captured by Razorpay already: never again here


async def test_an_authorized_payment_is_captured_once(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, payment = await _started(client, rz)
    rz_order = payment["next_action"]["order_id"]
    authorized = fake.pay(rz_order, "authorized")
    for _ in range(2):
        assert data(await _verify(client, fake, placed, rz_order, authorized))["payment_status"] == "paid"
    captures = fake.calls_to("POST", f"/v1/payments/{authorized}/capture")
    assert [c.body for c in captures] == [{"amount": 4500, "currency": "INR"}]
    assert fake.state.payments[authorized]["status"] == "captured"
    assert (await order_view(client, placed))["stock_state"] == "deducted"
    assert len((await _ledger(client, placed))["transactions"]) == 1


async def test_a_second_payment_of_a_paid_order_is_never_captured(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, payment = await _started(client, rz)
    rz_order = payment["next_action"]["order_id"]
    data(await _verify(client, fake, placed, rz_order, fake.pay(rz_order, "captured")))
    late = fake.pay(rz_order, "authorized")  # a second tab paid the same Razorpay order
    assert data(await _verify(client, fake, placed, rz_order, late))["payment_status"] == "paid"
    assert fake.calls_to("POST", "/capture") == []
    assert fake.state.payments[late]["status"] == "authorized"
    assert len((await _ledger(client, placed))["transactions"]) == 1


async def test_callbacks_not_signed_for_this_order_are_refused_and_change_nothing(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, payment = await _started(client, rz)
    other, other_payment = await _started(client, rz)
    mine = payment["next_action"]["order_id"]
    theirs = other_payment["next_action"]["order_id"]
    their_payment = fake.pay(theirs, "authorized")
    my_attempt = fake.pay(mine, "authorized")
    for body in (
        _callback(placed, mine, my_attempt, "0" * 64),  # a bad signature
        _callback(placed, mine, my_attempt, _flipped(fake.signature(mine, my_attempt))),
        # A genuine signature of the other order's Razorpay id, sent with our order or with theirs.
        _callback(placed, theirs, their_payment, fake.signature(theirs, their_payment)),
        _callback(placed, mine, their_payment, fake.signature(theirs, their_payment)),
        # Signed for our Razorpay order, but the payment id is a payment of another Razorpay order.
        _callback(placed, mine, their_payment, fake.signature(mine, their_payment)),
    ):
        refused = error(await client.post(VERIFY, json=body, headers=placed.headers), 400)
        assert refused["code"] == "PAYMENT_VERIFICATION_FAILED"
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("pending", "awaiting")
    assert await pool(rz, placed.pool_id) == (10, 2)
    assert (await _ledger(client, placed))["transactions"] == []
    assert fake.calls_to("POST", "/capture") == []
    assert (await order_view(client, other))["payment_status"] == "awaiting"


async def test_a_failed_payment_leaves_the_order_pending_with_stock_reserved(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, payment = await _started(client, rz)
    rz_order = payment["next_action"]["order_id"]
    failed = data(await _verify(client, fake, placed, rz_order, fake.pay(rz_order, "failed")))
    assert (failed["status"], failed["payment_status"], failed["payment_state"]) == (
        "pending",
        "failed",
        "failed",
    )
    assert "declined" in failed["error"]
    assert await pool(rz, placed.pool_id) == (10, 2)
    # The shopper tries again in Checkout, on the same Razorpay order: that one is captured.
    retry = fake.pay(rz_order, "authorized")
    assert data(await _verify(client, fake, placed, rz_order, retry))["payment_status"] == "paid"
    assert await pool(rz, placed.pool_id) == (8, 0)


async def test_reconcile_asks_razorpay_and_captures(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, payment = await _started(client, rz)
    confirm = {"payment_id": payment["id"]}
    waiting = data(await client.post("/api/v1/payments/confirm", json=confirm, headers=placed.headers))
    assert waiting["state"] == "requires_action"
    fake.pay(payment["next_action"]["order_id"], "authorized")
    done = data(await client.post("/api/v1/payments/confirm", json=confirm, headers=placed.headers))
    assert done["state"] == "succeeded"
    assert len(fake.calls_to("POST", "/capture")) == 1
    assert (await order_view(client, placed))["payment_status"] == "paid"


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 422),
        (b'{"order_id": 1}', 422),
        (
            b'{"order_id": "x", "razorpay_order_id": 5, "razorpay_payment_id": null,'
            b' "razorpay_signature": ""}',
            422,
        ),
        (
            b'{"order_id": 1, "razorpay_order_id": "order_../../x", "razorpay_payment_id": "pay_ABCDEFGH",'
            b' "razorpay_signature": "zz"}',
            422,
        ),
        (
            b'{"order_id": 999999, "razorpay_order_id": "order_ABCDEFGH",'
            b' "razorpay_payment_id": "pay_ABCDEFGH",'
            b' "razorpay_signature": "' + b"a" * 64 + b'"}',
            404,
        ),
    ],
)
async def test_malformed_callbacks_get_the_error_body(
    client: httpx.AsyncClient, fake: FakeRazorpay, content: bytes, status: int
) -> None:
    response = await client.post(VERIFY, content=content, headers={"Content-Type": "application/json"})
    error(response, status)
    assert fake.state.calls == []


async def test_a_callback_needs_the_order_token(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, payment = await _started(client, rz)
    rz_order = payment["next_action"]["order_id"]
    paid = fake.pay(rz_order)
    body = _callback(placed, rz_order, paid, fake.signature(rz_order, paid))
    assert error(await client.post(VERIFY, json=body), 404)["code"] == "ORDER_NOT_FOUND"
    assert error(await client.post(VERIFY, json=body, headers={"X-Order-Token": "nope"}), 404)
    assert (await order_view(client, placed))["payment_status"] == "awaiting"


# Webhooks -----------------------------------------------------------------------------------------------


async def _post_event(client: httpx.AsyncClient, fake: FakeRazorpay, body: bytes, event_id: str) -> Any:
    return data(await client.post(WEBHOOK, content=body, headers=fake.webhook_headers(body, event_id)))


async def test_a_signed_webhook_pays_and_forgeries_are_refused(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, payment = await _started(client, rz)
    paid = fake.pay(payment["next_action"]["order_id"])
    body = fake.event("payment.captured", payment_id=paid)
    headers = fake.webhook_headers(body, "evt_Captured0001")
    reserialised = json.dumps(json.loads(body), indent=2).encode()
    forged = {**headers, "X-Razorpay-Signature": fake.webhook_headers(body)["X-Razorpay-Signature"][::-1]}
    unsigned = {"Content-Type": "application/json", "X-Razorpay-Event-Id": "evt_Captured0001"}
    for sent, sent_headers in ((body, forged), (reserialised, headers), (body, unsigned)):
        refused = error(await client.post(WEBHOOK, content=sent, headers=sent_headers), 400)
        assert refused["code"] == "WEBHOOK_INVALID"
    await rz.jobs.run_until_idle()
    assert (await order_view(client, placed))["payment_status"] == "awaiting"
    assert await _count(rz, WebhookEvent) == 0

    assert await _post_event(client, fake, body, "evt_Captured0001") == {"received": True, "duplicate": False}
    await rz.jobs.run_until_idle()
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"], order["stock_state"]) == (
        "confirmed",
        "paid",
        "deducted",
    )
    assert (await _ledger(client, placed))["payments"][0]["card_last4"] == "1111"


async def test_a_late_failure_after_capture_changes_nothing(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, payment = await _started(client, rz)
    rz_order = payment["next_action"]["order_id"]
    failed_attempt = fake.pay(rz_order, "failed")
    paid = fake.pay(rz_order, "captured")
    await _post_event(
        client, fake, fake.event("order.paid", payment_id=paid, order_id=rz_order), "evt_Paid0001"
    )
    await rz.jobs.run_until_idle()
    late = fake.event("payment.failed", payment_id=failed_attempt)
    await _post_event(client, fake, late, "evt_Failed0001")
    await rz.jobs.run_until_idle()
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    assert [(t["kind"], t["status"]) for t in (await _ledger(client, placed))["transactions"]] == [
        ("capture", "succeeded")
    ]


async def test_a_failure_webhook_keeps_the_reservation(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, payment = await _started(client, rz)
    failed = fake.pay(payment["next_action"]["order_id"], "failed")
    await _post_event(client, fake, fake.event("payment.failed", payment_id=failed), "evt_Failed0002")
    await rz.jobs.run_until_idle()
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("pending", "failed")
    assert await pool(rz, placed.pool_id) == (10, 2)


async def test_unknown_events_are_acknowledged_and_repeats_without_an_id_deduplicated(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, payment = await _started(client, rz)
    paid = fake.pay(payment["next_action"]["order_id"], "authorized")
    unknown = fake.event("payment.authorized", payment_id=paid)
    assert await _post_event(client, fake, unknown, "evt_Authorized01") == {
        "received": True,
        "duplicate": False,
    }
    await rz.jobs.run_until_idle()
    assert (await order_view(client, placed))["payment_status"] == "awaiting"
    body = fake.event("payment.dispute.created")
    no_id = fake.webhook_headers(body)
    answers = [data(await client.post(WEBHOOK, content=body, headers=no_id)) for _ in range(2)]
    assert [a["duplicate"] for a in answers] == [False, True]


async def test_five_simultaneous_deliveries_have_one_effect(
    make_committed_context: MakeContext, fake: FakeRazorpay
) -> None:
    ctx = make_committed_context(**razorpay_settings(fake.url))
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed, payment = await _started(client, ctx)
        body = fake.event("payment.captured", payment_id=fake.pay(payment["next_action"]["order_id"]))
        headers = fake.webhook_headers(body, "evt_Dup000000001")
        responses = await asyncio.gather(
            *(client.post(WEBHOOK, content=body, headers=headers) for _ in range(5))
        )
        assert sorted(r.json()["data"]["duplicate"] for r in responses) == [False, True, True, True, True]
        await ctx.jobs.run_until_idle()
        assert (await order_view(client, placed))["payment_status"] == "paid"
        assert await pool(ctx, placed.pool_id) == (8, 0)
    assert await _count(ctx, WebhookEvent) == 1
    assert await _count(ctx, PaymentTransaction) == 1


async def test_five_simultaneous_callbacks_capture_once(
    make_committed_context: MakeContext, fake: FakeRazorpay
) -> None:
    ctx = make_committed_context(**razorpay_settings(fake.url))
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed, payment = await _started(client, ctx)
        rz_order = payment["next_action"]["order_id"]
        authorized = fake.pay(rz_order, "authorized")
        responses = await asyncio.gather(
            *(_verify(client, fake, placed, rz_order, authorized) for _ in range(5))
        )
        assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
        assert {r.json()["data"]["payment_status"] for r in responses} == {"paid"}
        assert await pool(ctx, placed.pool_id) == (8, 0)
    assert len(fake.calls_to("POST", "/capture")) == 1
    assert await _count(ctx, PaymentTransaction) == 1


# Refunds ------------------------------------------------------------------------------------------------


async def _paid(
    client: httpx.AsyncClient, ctx: AppContext, fake: FakeRazorpay
) -> tuple[GuestOrder, str, str]:
    placed, payment = await _started(client, ctx)
    rz_order = payment["next_action"]["order_id"]
    paid = fake.pay(rz_order)
    data(await _verify(client, fake, placed, rz_order, paid))
    return placed, rz_order, paid


async def test_a_dashboard_refund_is_recorded_once(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, _, paid = await _paid(client, rz, fake)
    refund = fake.refund_from_dashboard(paid, 1000)
    body = fake.event("refund.processed", payment_id=paid, refund_id=refund["id"])
    for event_id in ("evt_Refund000001", "evt_Refund000001", "evt_RefundRetry1"):
        await _post_event(client, fake, body, event_id)
    await rz.jobs.run_until_idle()
    ledger = await _ledger(client, placed)
    assert (ledger["payment_status"], ledger["refunded"], ledger["refundable"]) == (
        "partially_refunded",
        "10.00",
        "35.00",
    )
    assert [t["kind"] for t in ledger["transactions"]] == ["capture", "refund"]


async def test_a_staff_refund_reaches_razorpay_and_never_exceeds_the_capture(
    client: httpx.AsyncClient, rz: AppContext, fake: FakeRazorpay
) -> None:
    placed, _, paid = await _paid(client, rz, fake)
    staff = await staff_headers(client, rz, email="rz-refunds@example.com", role="admin")

    def refund(amount: str, key: str) -> Any:
        body = {"order_id": placed.order["id"], "amount": amount, "reason": "a box arrived crushed"}
        return client.post("/api/v1/payments/refund", json=body, headers={**staff, "Idempotency-Key": key})

    first = data(await refund("10.00", "rz-refund-0001"), 201)
    assert data(await refund("10.00", "rz-refund-0001"), 201)["id"] == first["id"]
    made = fake.calls_to("POST", f"/v1/payments/{paid}/refund")
    assert len(made) == 1
    assert made[0].body is not None
    assert (made[0].body["amount"], made[0].body["notes"]) == (1000, {"reason": "a box arrived crushed"})
    assert first["gateway_reference"].startswith("rfnd_")
    assert fake.state.payments[paid]["amount_refunded"] == 1000
    assert error(await refund("35.01", "rz-refund-0002"), 409)["code"] == "REFUND_EXCEEDS_CAPTURED"
    assert len(fake.calls_to("POST", "/refund")) == 1
    # Razorpay's notice of our own refund records nothing more.
    (rfnd,) = fake.state.refunds
    await _post_event(
        client, fake, fake.event("refund.processed", payment_id=paid, refund_id=rfnd), "evt_OurRefund01"
    )
    await rz.jobs.run_until_idle()
    ledger = await _ledger(client, placed)
    assert (ledger["refunded"], ledger["refundable"]) == ("10.00", "35.00")


async def test_a_refund_retried_at_the_gateway_is_made_once(rz: AppContext, fake: FakeRazorpay) -> None:
    gateway = RazorpayGateway(rz.settings)
    start = StartRequest(1, "ORD-2026-000001", 4500, "INR", "a@example.com", "k", "http://shop.test/x")
    async with rz.db.session() as session:
        started = await gateway.start(session, start)
        fake.pay(started.reference)
        part = RefundRequest(started.reference, 2000, "INR", None, "1:refund-key-0001")
        rest = RefundRequest(started.reference, 2500, "INR", None, "1:refund-key-0002")
        made = [await gateway.refund(session, request) for request in (part, part, rest, rest)]
        nothing_left = await gateway.refund(
            session, RefundRequest(started.reference, 100, "INR", None, "1:k3")
        )
    assert all(result.succeeded for result in made)
    # Each retry (as after a lost answer) hands back the refund already made, even once nothing is left.
    assert made[0].reference == made[1].reference
    assert made[2].reference == made[3].reference
    assert sorted(r["amount"] for r in fake.state.refunds.values()) == [2000, 2500]
    assert not nothing_left.succeeded


# Network failures ---------------------------------------------------------------------------------------


async def test_an_unreachable_or_slow_razorpay_is_a_retryable_error(
    make_context: MakeContext, fake: FakeRazorpay
) -> None:
    closed = make_context(**razorpay_settings(f"http://127.0.0.1:{free_port()}"))
    slow = make_context(**razorpay_settings(fake.url, payment_http_timeout_seconds=0.3))
    start = StartRequest(1, "ORD-2026-000002", 4500, "INR", "a@example.com", "k", "http://shop.test/x")
    fake.delay = 1.0
    for ctx in (closed, slow):
        async with ctx.db.session() as session:
            with pytest.raises(GatewayError) as raised:
                await RazorpayGateway(ctx.settings).start(session, start)
        assert raised.value.retryable
    async with asgi_client(create_app(ctx=closed)) as client:
        placed = await guest_order(client, closed, payment_method="razorpay")
        refused = error(
            await client.post(
                "/api/v1/payments/create-intent",
                json={"order_id": placed.order["id"]},
                headers=placed.headers,
            ),
            409,
        )
        assert refused["code"] == "PAYMENT_NOT_POSSIBLE"
        assert (
            data(await client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=placed.headers))[
                "payments"
            ]
            == []
        )


async def test_wrong_keys_are_refused_by_razorpay(make_context: MakeContext, fake: FakeRazorpay) -> None:
    ctx = make_context(**razorpay_settings(fake.url, razorpay_key_secret="not-the-secret"))
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="razorpay")
        response = await client.post(
            "/api/v1/payments/create-intent", json={"order_id": placed.order["id"]}, headers=placed.headers
        )
        assert "Authentication failed" in error(response, 409)["message"]
    assert fake.state.orders == {}
