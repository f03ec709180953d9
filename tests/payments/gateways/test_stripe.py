"""The Stripe gateway end to end: Emporium's API, Stripe's SDK, and a fake Stripe API on loopback.

The shopper's browser (stripe.js) confirms intents at the fake with the publishable key; webhooks are the
fake's own events, signed as Stripe signs them, posted to ``/api/v1/payments/webhook``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.payments.models import Payment, PaymentTransaction, WebhookEvent
from tests.conftest import MakeContext
from tests.inventory.factory import staff_headers
from tests.payments.conftest import GuestOrder, guest_order, order_view, pool, start_payment
from tests.payments.gateways.fake_stripe import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    browser_confirm,
    running,
    signature,
    stripe_context,
)
from tests.support import asgi_client, data, error, free_port

WEBHOOK = "/api/v1/payments/webhook"


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with running() as server:
        yield server


@dataclass
class Shop:
    ctx: AppContext
    client: httpx.AsyncClient
    fake: FakeStripe

    async def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        body, headers = self.fake.signed(event)
        received: dict[str, Any] = data(await self.client.post(WEBHOOK, content=body, headers=headers))
        return received

    async def deliver_latest(self, kind: str, about: str) -> dict[str, Any]:
        event = self.fake.events_of(kind, about)[-1]
        await self.deliver(event)
        await self.ctx.jobs.run_until_idle()
        return event

    async def confirm(self, placed: GuestOrder, payment: dict[str, Any]) -> dict[str, Any]:
        confirmed: dict[str, Any] = data(
            await self.client.post(
                "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
            )
        )
        return confirmed

    async def ledger(self, placed: GuestOrder) -> dict[str, Any]:
        shown: dict[str, Any] = data(
            await self.client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=placed.headers)
        )
        return shown


@pytest.fixture
async def shop(make_context: MakeContext, fake: FakeStripe) -> AsyncIterator[Shop]:
    ctx = stripe_context(make_context, fake)
    async with asgi_client(create_app(ctx=ctx)) as client:
        yield Shop(ctx, client, fake)


async def _reference(ctx: AppContext, payment_id: int) -> str:
    async with ctx.db.session() as session:
        payment = await session.get(Payment, payment_id)
        assert payment is not None
        return payment.reference


async def _paid(shop: Shop) -> tuple[GuestOrder, str]:
    placed = await guest_order(shop.client, shop.ctx, payment_method="stripe")
    payment = await start_payment(shop.client, placed)
    assert (await browser_confirm(shop.fake, payment["client_secret"], "pm_card_visa")).status_code == 200
    intent_id = await _reference(shop.ctx, payment["id"])
    await shop.deliver_latest("payment_intent.succeeded", intent_id)
    assert (await order_view(shop.client, placed))["payment_status"] == "paid"
    return placed, intent_id


async def test_a_paid_intent_confirms_the_order_and_deducts_stock(shop: Shop) -> None:
    placed = await guest_order(shop.client, shop.ctx, payment_method="stripe")
    headers = {**placed.headers, "Idempotency-Key": "stripe-pay-0001"}
    # An amount sent by the client is ignored: Stripe is asked for the order's total.
    payment = data(
        await shop.client.post(
            "/api/v1/payments/create-intent",
            json={"order_id": placed.order["id"], "amount": "0.01"},
            headers=headers,
        ),
        201,
    )
    [intent] = shop.fake.intents.values()
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        4500,
        "usd",
        "requires_payment_method",
    )
    assert intent["metadata"]["order_id"] == str(placed.order["id"])
    assert intent["allowed_payment_method_types"] == ["card"]
    [created] = shop.fake.calls("POST", "/v1/payment_intents")
    assert created.key == SECRET_KEY
    assert created.idempotency_key == f"emporium:{placed.order['id']}:stripe-pay-0001:0"
    assert payment["state"] == "requires_action"
    assert payment["next_action"] == {
        "type": "stripe_js",
        "client_secret": intent["client_secret"],
        "publishable_key": PUBLISHABLE_KEY,
    }
    assert payment["client_secret"] == intent["client_secret"]
    assert payment["details"] == {"payment_intent": intent["id"]}

    paid = await browser_confirm(shop.fake, payment["client_secret"], "pm_card_visa")
    assert paid.json()["status"] == "succeeded"
    assert (await order_view(shop.client, placed))["payment_status"] == "awaiting"  # until Stripe says so
    # Events the shop does not act on are acknowledged and change nothing.
    for kind in ("payment_intent.created", "charge.succeeded"):
        await shop.deliver_latest(kind, intent["id"])
    assert (await order_view(shop.client, placed))["payment_status"] == "awaiting"
    await shop.deliver_latest("payment_intent.succeeded", intent["id"])

    order = await order_view(shop.client, placed)
    assert (order["status"], order["payment_status"], order["stock_state"]) == (
        "confirmed",
        "paid",
        "deducted",
    )
    assert await pool(shop.ctx, placed.pool_id) == (8, 0)
    # Confirming afterwards brings the card from the latest charge and records nothing twice.
    confirmed = await shop.confirm(placed, payment)
    assert (confirmed["state"], confirmed["card_brand"], confirmed["card_last4"]) == (
        "succeeded",
        "visa",
        "4242",
    )
    assert confirmed["next_action"] is None
    assert confirmed["client_secret"] is None
    ledger = await shop.ledger(placed)
    assert [(t["kind"], t["status"], t["amount"]) for t in ledger["transactions"]] == [
        ("capture", "succeeded", "45.00")
    ]
    assert ledger["transactions"][0]["gateway_reference"] == intent["id"]
    # The stored event keeps no client secret.
    async with shop.ctx.db.session() as session:
        stored = (await session.execute(select(WebhookEvent.payload))).scalars().all()
    assert stored
    assert all(intent["client_secret"] not in json.dumps(p) for p in stored)


@pytest.mark.parametrize(
    ("method", "message", "told_by"),
    [
        ("pm_card_chargeDeclined", "Your card was declined.", "webhook"),
        ("pm_card_chargeDeclinedInsufficientFunds", "Your card has insufficient funds.", "confirm"),
    ],
)
async def test_a_declined_card_fails_the_payment_and_keeps_the_reservation(
    shop: Shop, method: str, message: str, told_by: str
) -> None:
    placed = await guest_order(shop.client, shop.ctx, payment_method="stripe")
    payment = await start_payment(shop.client, placed)
    declined = await browser_confirm(shop.fake, payment["client_secret"], method)
    assert declined.status_code == 402
    assert declined.json()["error"]["type"] == "card_error"
    intent_id = await _reference(shop.ctx, payment["id"])
    if told_by == "webhook":
        await shop.deliver_latest("payment_intent.payment_failed", intent_id)
        shown = data(await shop.client.get(f"/api/v1/payments/{payment['id']}", headers=placed.headers))
    else:
        shown = await shop.confirm(placed, payment)
    assert (shown["state"], shown["error"]) == ("failed", message)
    order = await order_view(shop.client, placed)
    assert (order["status"], order["payment_status"]) == ("pending", "failed")
    assert await pool(shop.ctx, placed.pool_id) == (10, 2)

    # A second attempt is a new intent, and it can succeed.
    again = await start_payment(shop.client, placed, key="pay-key-000002")
    assert again["id"] != payment["id"]
    assert again["client_secret"] != payment["client_secret"]
    assert len(shop.fake.intents) == 2
    assert (await browser_confirm(shop.fake, again["client_secret"], "pm_card_visa")).status_code == 200
    await shop.deliver_latest("payment_intent.succeeded", await _reference(shop.ctx, again["id"]))
    order = await order_view(shop.client, placed)
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    assert await pool(shop.ctx, placed.pool_id) == (8, 0)


async def test_retrying_create_intent_with_the_same_key_after_a_decline_opens_a_new_intent(
    shop: Shop,
) -> None:
    placed = await guest_order(shop.client, shop.ctx, payment_method="stripe")
    payment = await start_payment(shop.client, placed)
    await browser_confirm(shop.fake, payment["client_secret"], "pm_card_chargeDeclined")
    await shop.confirm(placed, payment)
    again = await start_payment(shop.client, placed)  # the same Idempotency-Key
    assert again["id"] != payment["id"]
    assert again["state"] == "requires_action"
    assert len(shop.fake.intents) == 2


@pytest.mark.parametrize(
    ("approve", "state", "status"), [(True, "succeeded", "paid"), (False, "failed", "failed")]
)
async def test_three_d_secure_waits_for_the_issuer(
    shop: Shop, approve: bool, state: str, status: str
) -> None:
    placed = await guest_order(shop.client, shop.ctx, payment_method="stripe")
    payment = await start_payment(shop.client, placed)
    challenge = await browser_confirm(shop.fake, payment["client_secret"], "pm_card_authenticationRequired")
    assert challenge.json()["status"] == "requires_action"
    waiting = await shop.confirm(placed, payment)
    assert waiting["state"] == "requires_action"
    assert waiting["next_action"]["type"] == "stripe_js"
    assert (await order_view(shop.client, placed))["payment_status"] == "awaiting"

    shop.fake.complete_3ds(await _reference(shop.ctx, payment["id"]), approve=approve)
    done = await shop.confirm(placed, payment)
    assert done["state"] == state
    assert (await order_view(shop.client, placed))["payment_status"] == status
    if approve:
        assert done["card_last4"] == "3184"
        assert await pool(shop.ctx, placed.pool_id) == (8, 0)
    else:
        assert "failed authentication" in done["error"]


async def test_a_timeout_after_stripe_acted_is_retried_to_the_same_intent(
    make_context: MakeContext, fake: FakeStripe
) -> None:
    ctx = stripe_context(make_context, fake, payment_http_timeout_seconds=0.5)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="stripe")
        headers = {**placed.headers, "Idempotency-Key": "slow-network-01"}
        body = {"order_id": placed.order["id"]}
        fake.stall("POST", "/v1/payment_intents", 2.0)
        timed_out = error(
            await client.post("/api/v1/payments/create-intent", json=body, headers=headers), 409
        )
        assert timed_out["code"] == "PAYMENT_NOT_POSSIBLE"
        assert "did not answer in time" in timed_out["message"]
        assert len(fake.intents) == 1  # Stripe made it; the shop never heard back
        shop = Shop(ctx, client, fake)
        assert (await shop.ledger(placed))["payments"] == []

        payment = data(await client.post("/api/v1/payments/create-intent", json=body, headers=headers), 201)
        [intent] = fake.intents.values()
        assert payment["client_secret"] == intent["client_secret"]
        calls = fake.calls("POST", "/v1/payment_intents")
        assert len(calls) == 2
        assert len({c.idempotency_key for c in calls}) == 1

        assert (await browser_confirm(fake, payment["client_secret"], "pm_card_visa")).status_code == 200
        # The charge went through; asking Stripe about it times out once, then reconciles.
        fake.stall("GET", f"/v1/payment_intents/{intent['id']}", 2.0)
        slow = await client.post(
            "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
        )
        assert error(slow, 409)["code"] == "PAYMENT_NOT_POSSIBLE"
        assert (await order_view(client, placed))["payment_status"] == "awaiting"
        assert (await shop.confirm(placed, payment))["state"] == "succeeded"
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
        assert len(fake.intents) == 1
        assert len(fake.succeeded_charges()) == 1
        assert [t["kind"] for t in (await shop.ledger(placed))["transactions"]] == ["capture"]


async def test_an_unreachable_or_misconfigured_stripe_is_a_clear_409(
    make_context: MakeContext, fake: FakeStripe
) -> None:
    closed = stripe_context(make_context, None, stripe_api_base=f"http://127.0.0.1:{free_port()}")
    wrong_key = stripe_context(make_context, fake, stripe_secret_key="sk_test_not_the_key_0000")
    for ctx, text in ((closed, "did not answer in time"), (wrong_key, "refused the shop's credentials")):
        async with asgi_client(create_app(ctx=ctx)) as client:
            placed = await guest_order(client, ctx, payment_method="stripe")
            refused = await client.post(
                "/api/v1/payments/create-intent",
                json={"order_id": placed.order["id"]},
                headers={**placed.headers, "Idempotency-Key": "unreachable-01"},
            )
            assert text in error(refused, 409)["message"]
            assert "sk_test" not in refused.text
    assert fake.intents == {}


async def test_a_late_failure_after_success_changes_nothing(shop: Shop) -> None:
    placed = await guest_order(shop.client, shop.ctx, payment_method="stripe")
    payment = await start_payment(shop.client, placed)
    intent_id = await _reference(shop.ctx, payment["id"])
    # Declined first, then paid on the same intent (stripe.js lets the shopper try another card) ...
    await browser_confirm(shop.fake, payment["client_secret"], "pm_card_chargeDeclined")
    await browser_confirm(shop.fake, payment["client_secret"], "pm_card_visa")
    failed = shop.fake.events_of("payment_intent.payment_failed", intent_id)[-1]
    # ... and Stripe's events arrive the other way round.
    await shop.deliver_latest("payment_intent.succeeded", intent_id)
    await shop.deliver(failed)
    await shop.ctx.jobs.run_until_idle()
    order = await order_view(shop.client, placed)
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    shown = data(await shop.client.get(f"/api/v1/payments/{payment['id']}", headers=placed.headers))
    assert (shown["state"], shown["error"]) == ("succeeded", None)
    assert [t["kind"] for t in (await shop.ledger(placed))["transactions"]] == ["capture"]


async def test_forged_stale_and_reserialised_webhooks_are_refused(shop: Shop) -> None:
    placed = await guest_order(shop.client, shop.ctx, payment_method="stripe")
    payment = await start_payment(shop.client, placed)
    await browser_confirm(shop.fake, payment["client_secret"], "pm_card_visa")
    event = shop.fake.events_of("payment_intent.succeeded")[-1]
    body, headers = shop.fake.signed(event)
    now = int(time.time())
    not_utf8 = b"\xff\xfe" + body
    refused: list[tuple[bytes, dict[str, str]]] = [
        (body, {"Stripe-Signature": signature(body, "whsec_not_the_secret")}),
        (body, {"Stripe-Signature": signature(body, WEBHOOK_SECRET, now - 330)}),
        (json.dumps(event).encode(), headers),  # same content, other bytes
        (body, {}),
        (body, {"Stripe-Signature": "t=abc,v1=nothex"}),
        (not_utf8, {"Stripe-Signature": signature(not_utf8, WEBHOOK_SECRET)}),
        (b"not json", {"Stripe-Signature": signature(b"not json", WEBHOOK_SECRET)}),
    ]
    for sent, sent_headers in refused:
        for path in (WEBHOOK, f"{WEBHOOK}/stripe"):
            assert error(await shop.client.post(path, content=sent, headers=sent_headers), 400)["code"] == (
                "WEBHOOK_INVALID"
            )
    await shop.ctx.jobs.run_until_idle()
    async with shop.ctx.db.session() as session:
        assert (await session.execute(select(func.count()).select_from(WebhookEvent))).scalar_one() == 0
    assert (await order_view(shop.client, placed))["payment_status"] == "awaiting"

    # A rotated secret: one of several v1 signatures fits; a delivery four minutes old is still fresh.
    old = signature(body, "whsec_the_old_secret", now - 240).split(",")[1]
    rotated = {**headers, "Stripe-Signature": f"{signature(body, WEBHOOK_SECRET, now - 240)},{old}"}
    assert data(await shop.client.post(WEBHOOK, content=body, headers=rotated))["duplicate"] is False
    await shop.ctx.jobs.run_until_idle()
    assert (await order_view(shop.client, placed))["payment_status"] == "paid"


async def test_signatures_dated_outside_the_tolerance_are_refused_in_both_directions(shop: Shop) -> None:
    placed = await guest_order(shop.client, shop.ctx, payment_method="stripe")
    payment = await start_payment(shop.client, placed)
    await browser_confirm(shop.fake, payment["client_secret"], "pm_card_visa")
    body, _ = shop.fake.signed(shop.fake.events_of("payment_intent.succeeded")[-1])
    now = int(time.time())
    for at in (now + 330, now + 3600, now + 10**9, now - 330):
        dated = {"Stripe-Signature": signature(body, WEBHOOK_SECRET, at)}
        assert error(await shop.client.post(WEBHOOK, content=body, headers=dated), 400)["code"] == (
            "WEBHOOK_INVALID"
        )
    async with shop.ctx.db.session() as session:
        assert (await session.execute(select(func.count()).select_from(WebhookEvent))).scalar_one() == 0
    # Within the tolerance either way (clocks drift) it is taken.
    for at, duplicate in ((now + 240, False), (now - 240, True)):
        dated = {"Stripe-Signature": signature(body, WEBHOOK_SECRET, at)}
        assert data(await shop.client.post(WEBHOOK, content=body, headers=dated))["duplicate"] is duplicate
    await shop.ctx.jobs.run_until_idle()
    assert (await order_view(shop.client, placed))["payment_status"] == "paid"


async def test_five_simultaneous_deliveries_have_one_effect(
    make_committed_context: MakeContext, fake: FakeStripe
) -> None:
    ctx = stripe_context(make_committed_context, fake)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="stripe")
        payment = await start_payment(client, placed)
        await browser_confirm(fake, payment["client_secret"], "pm_card_visa")
        body, headers = fake.signed(fake.events_of("payment_intent.succeeded")[-1])
        responses = await asyncio.gather(
            *(client.post(WEBHOOK, content=body, headers=headers) for _ in range(5))
        )
        assert sorted(r.json()["data"]["duplicate"] for r in responses) == [False, True, True, True, True]
        await ctx.jobs.run_until_idle()
        assert (await order_view(client, placed))["payment_status"] == "paid"
    async with ctx.db.session() as session:
        assert (await session.execute(select(func.count()).select_from(WebhookEvent))).scalar_one() == 1
        assert (await session.execute(select(func.count()).select_from(PaymentTransaction))).scalar_one() == 1
    assert await pool(ctx, placed.pool_id) == (8, 0)


async def test_refunds_made_in_the_dashboard_are_recorded_once_and_never_exceed_the_capture(
    shop: Shop,
) -> None:
    placed, intent_id = await _paid(shop)
    refunder = await staff_headers(shop.client, shop.ctx, email="stripe-dash@example.com", role="admin")
    # Staff refund 10.00 through the shop; the rest is refunded in Stripe's dashboard.
    data(
        await shop.client.post(
            "/api/v1/payments/refund",
            json={"order_id": placed.order["id"], "amount": "10.00", "reason": "torn sleeve"},
            headers={**refunder, "Idempotency-Key": "stripe-refund-01"},
        ),
        201,
    )
    ours = shop.fake.events_of("charge.refunded", intent_id)[-1]
    shop.fake.dashboard_refund(intent_id, 3500)
    theirs = shop.fake.events_of("charge.refunded", intent_id)[-1]
    assert theirs["data"]["object"]["amount_refunded"] == 4500
    # Charge objects carry the card's expiry and brand: a provider's webhook is not card data sent by a user.
    assert "exp_month" in json.dumps(theirs)
    for event in (theirs, theirs, ours):  # twice, and the older total late
        await shop.deliver(event)
    await shop.ctx.jobs.run_until_idle()
    ledger = await shop.ledger(placed)
    assert (ledger["payment_status"], ledger["captured"], ledger["refunded"], ledger["refundable"]) == (
        "refunded",
        "45.00",
        "45.00",
        "0.00",
    )
    assert sorted(t["amount"] for t in ledger["transactions"] if t["kind"] == "refund") == ["10.00", "35.00"]


async def test_a_staff_refund_reaches_stripe_once_and_never_more_than_captured(shop: Shop) -> None:
    placed, intent_id = await _paid(shop)
    refunder = await staff_headers(shop.client, shop.ctx, email="stripe-refunds@example.com", role="admin")
    order_id = placed.order["id"]

    async def refund(amount: str, key: str) -> httpx.Response:
        return await shop.client.post(
            "/api/v1/payments/refund",
            json={"order_id": order_id, "amount": amount, "reason": "one shirt arrived torn"},
            headers={**refunder, "Idempotency-Key": key},
        )

    first = data(await refund("10.00", "stripe-refund-a1"), 201)
    assert data(await refund("10.00", "stripe-refund-a1"), 201)["id"] == first["id"]
    [made] = shop.fake.refunds.values()
    assert (made["amount"], made["payment_intent"], made["status"]) == (1000, intent_id, "succeeded")
    assert made["metadata"] == {"reason": "one shirt arrived torn"}
    assert first["gateway_reference"] == made["id"]
    [call] = shop.fake.calls("POST", "/v1/refunds")
    assert call.idempotency_key == f"emporium:refund:{order_id}:stripe-refund-a1"

    assert error(await refund("35.01", "stripe-refund-b2"), 409)["code"] == "REFUND_EXCEEDS_CAPTURED"
    assert len(shop.fake.calls("POST", "/v1/refunds")) == 1  # refused before Stripe was asked
    # Stripe itself refuses what was already refunded in its dashboard (its webhook not yet here).
    shop.fake.dashboard_refund(intent_id, 3000)
    refused = error(await refund("35.00", "stripe-refund-c3"), 409)
    assert "greater than unrefunded amount" in refused["message"]
    ledger = await shop.ledger(placed)
    assert (ledger["refunded"], ledger["refundable"]) == ("10.00", "35.00")
    assert len(shop.fake.refunds) == 2


async def test_a_shopper_cannot_pay_or_confirm_another_guests_order(shop: Shop) -> None:
    mine = await guest_order(shop.client, shop.ctx, payment_method="stripe")
    theirs = await guest_order(shop.client, shop.ctx, payment_method="stripe")
    their_payment = await start_payment(shop.client, theirs)
    assert len(shop.fake.intents) == 1
    for headers in (mine.headers, {}):
        attempt = await shop.client.post(
            "/api/v1/payments/create-intent",
            json={"order_id": theirs.order["id"]},
            headers={**headers, "Idempotency-Key": "not-my-order-1"},
        )
        assert error(attempt, 404)["code"] == "ORDER_NOT_FOUND"
        confirm = await shop.client.post(
            "/api/v1/payments/confirm", json={"payment_id": their_payment["id"]}, headers=headers
        )
        assert error(confirm, 404)
    assert len(shop.fake.intents) == 1
    assert (
        shop.fake.calls("GET", f"/v1/payment_intents/{await _reference(shop.ctx, their_payment['id'])}") == []
    )


async def test_card_numbers_never_reach_the_stripe_path(shop: Shop) -> None:
    placed = await guest_order(shop.client, shop.ctx, payment_method="stripe")
    refused = await shop.client.post(
        "/api/v1/payments/create-intent",
        json={"order_id": placed.order["id"], "card": {"number": "4242424242424242", "cvc": "123"}},
        headers=placed.headers,
    )
    assert error(refused, 422)["code"] == "CARD_DATA_REFUSED"
    assert shop.fake.requests == []
    await start_payment(shop.client, placed)
    assert all("4242424242424242" not in json.dumps(r.params) for r in shop.fake.requests)


async def test_a_second_payment_of_a_paid_order_is_given_back(shop: Shop) -> None:
    """A declined intent stays payable at Stripe: a stale tab that pays it after a second attempt paid the
    order must not charge the shopper twice. The surplus is refunded automatically and the order stays
    paid in full."""
    placed = await guest_order(shop.client, shop.ctx, payment_method="stripe")
    stale = await start_payment(shop.client, placed)
    await browser_confirm(shop.fake, stale["client_secret"], "pm_card_chargeDeclined")
    await shop.confirm(placed, stale)
    fresh = await start_payment(shop.client, placed, key="pay-key-000002")
    await browser_confirm(shop.fake, fresh["client_secret"], "pm_card_visa")
    await shop.deliver_latest("payment_intent.succeeded", await _reference(shop.ctx, fresh["id"]))

    stale_intent = await _reference(shop.ctx, stale["id"])
    assert (await browser_confirm(shop.fake, stale["client_secret"], "pm_card_visa")).status_code == 200
    await shop.deliver_latest("payment_intent.succeeded", stale_intent)
    await shop.deliver_latest("payment_intent.succeeded", stale_intent)  # a repeat changes nothing more

    ledger = await shop.ledger(placed)
    assert (ledger["payment_status"], ledger["captured"], ledger["refunded"]) == ("paid", "90.00", "45.00")
    [refund] = [t for t in ledger["transactions"] if t["kind"] == "refund"]
    assert (refund["amount"], refund["gateway_reference"] is not None) == ("45.00", True)
    # One refund of one order total reached Stripe (of either intent: the shopper paid the same twice).
    assert [r["amount"] for r in shop.fake.refunds.values()] == [4500]
    order = await order_view(shop.client, placed)
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    assert await pool(shop.ctx, placed.pool_id) == (8, 0)
