"""Lightning payments through LND's REST API, against the fake LND node on loopback of ``fake_lnd``.

Guest orders are paid through Emporium's HTTP API; the node is told to settle, hold, partly pay or cancel
invoices as a buyer's wallet would make it, and the watcher job (run through the outbox) records the
outcome.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.jobs import enqueue
from emporium.core.jobs.models import Job
from emporium.payments.gateways.lightning.tasks import WATCH_JOB, watch_lightning
from emporium.payments.models import PaymentTransaction, TxKind, TxStatus
from emporium.payments.service import AUTO_REFUND_JOB
from emporium.payments.tasks import REFUND_BY_HAND_EVENT
from tests.conftest import MakeContext
from tests.inventory.factory import staff_headers
from tests.payments.conftest import GuestOrder, guest_order, order_view, pool, start_payment
from tests.payments.gateways.fake_lnd import MACAROON_HEADER, FakeLnd, self_signed_certificate, server_tls
from tests.support import asgi_client, data, error, free_port

MACAROON = "0201036c6e6402f801030a10" + "5eed" * 28
RATE = "0.0000105"  # BTC per USD


@pytest.fixture
def lnd() -> Iterator[FakeLnd]:
    node = FakeLnd(MACAROON).start()
    yield node
    node.stop()


def shop(make_context: MakeContext, url: str, **overrides: object) -> AppContext:
    values: dict[str, object] = {
        "payment_methods": ["lightning", "test"],
        "lnd_rest_url": url,
        "lnd_macaroon_hex": MACAROON,
        "crypto_rates": {"BTC": RATE},
        "crypto_rates_url": None,
    }
    values.update(overrides)
    return make_context(**values)


async def watch(ctx: AppContext) -> None:
    """One run of the watcher, through the outbox like the periodic schedule does it."""
    async with ctx.db.session() as session:
        enqueue(session, WATCH_JOB, {})
    await ctx.jobs.run_until_idle()


def expected_sats(order: dict[str, Any]) -> int:
    btc = (Decimal(order["totals"]["total"]) * Decimal(RATE)).quantize(
        Decimal("0.00000001"), rounding=ROUND_CEILING
    )
    return int(btc * 100_000_000)


async def ledger(client: httpx.AsyncClient, placed: GuestOrder) -> dict[str, Any]:
    shown: dict[str, Any] = data(
        await client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=placed.headers)
    )
    return shown


async def count_tx(ctx: AppContext, order_id: int, kind: TxKind, status: TxStatus) -> int:
    async with ctx.db.session() as session:
        result = await session.execute(
            select(func.count())
            .select_from(PaymentTransaction)
            .where(
                PaymentTransaction.order_id == order_id,
                PaymentTransaction.kind == kind,
                PaymentTransaction.status == status,
            )
        )
        return int(result.scalar_one())


async def open_invoice(client: httpx.AsyncClient, ctx: AppContext) -> tuple[GuestOrder, dict[str, Any], str]:
    placed = await guest_order(client, ctx, payment_method="lightning")
    payment = await start_payment(client, placed)
    return placed, payment, payment["details"]["payment_hash"]


async def test_an_invoice_of_the_quoted_sats_settled_in_full_confirms_the_order_once(
    make_context: MakeContext, lnd: FakeLnd
) -> None:
    ctx = shop(make_context, lnd.url)
    async with asgi_client(create_app(ctx=ctx)) as client:
        before = utcnow()
        placed, payment, r_hash = await open_invoice(client, ctx)
        sats = expected_sats(placed.order)
        created = [s for s in lnd.seen if s.method == "POST"]
        assert len(created) == 1
        assert created[0].path == "/v1/invoices"
        assert created[0].headers[MACAROON_HEADER] == MACAROON
        assert created[0].body == {
            "value": str(sats),
            "memo": f"Emporium order {placed.order['number']}",
            "expiry": str(ctx.settings.lnd_invoice_expiry_seconds),
        }
        invoice = lnd.invoice(r_hash)
        assert invoice.value_msat == sats * 1000
        details = payment["details"]
        assert details["payment_request"] == invoice.payment_request
        assert details["lightning_uri"] == f"lightning:{invoice.payment_request}"
        assert (details["amount_sats"], details["amount_btc"]) == (sats, f"{Decimal(sats) / 10**8:.8f}")
        assert payment["next_action"] == {
            "type": "lightning_invoice",
            "payment_request": invoice.payment_request,
            "uri": f"lightning:{invoice.payment_request}",
        }
        expires = datetime.fromisoformat(payment["expires_at"])
        expiry = timedelta(seconds=ctx.settings.lnd_invoice_expiry_seconds)
        assert before + expiry - timedelta(seconds=5) <= expires <= utcnow() + expiry
        assert payment["state"] == "requires_action"
        # The same open invoice is handed out again, not a second one.
        assert (await start_payment(client, placed, key="pay-key-000002"))["id"] == payment["id"]
        assert len([s for s in lnd.seen if s.method == "POST"]) == 1

        await watch(ctx)  # not paid yet
        assert (await order_view(client, placed))["status"] == "pending"

        lnd.settle(r_hash)
        assert WATCH_JOB in await ctx.jobs.enqueue_periodic()  # the schedule runs the watcher
        await ctx.jobs.run_until_idle()
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
        assert await pool(ctx, placed.pool_id) == (8, 0)
        await watch(ctx)
        confirmed = data(
            await client.post(
                "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
            )
        )
        assert confirmed["state"] == "succeeded"
        assert confirmed["next_action"] is None
        assert confirmed["details"]["invoice_state"] == "SETTLED"
        assert confirmed["details"]["amount_paid_sats"] == sats
        assert await count_tx(ctx, placed.order["id"], TxKind.CAPTURE, TxStatus.SUCCEEDED) == 1
        shown = await ledger(client, placed)
        assert shown["captured"] == placed.order["totals"]["total"]
        assert MACAROON not in json.dumps(shown)
        assert MACAROON not in json.dumps(confirmed)
        # Every lookup asked by hex hash, with the macaroon.
        lookups = [s for s in lnd.seen if s.method == "GET"]
        assert lookups
        assert all(s.path == f"/v1/invoice/{r_hash}" for s in lookups)
        assert all(s.headers[MACAROON_HEADER] == MACAROON for s in lookups)


@pytest.mark.parametrize("how", ["open", "held", "one_part_of_two", "settled_short"])
async def test_an_unsettled_invoice_marks_nothing(make_context: MakeContext, lnd: FakeLnd, how: str) -> None:
    ctx = shop(make_context, lnd.url)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed, payment, r_hash = await open_invoice(client, ctx)
        value = lnd.invoice(r_hash).value_msat
        if how == "held":
            lnd.accept(r_hash)
        elif how == "one_part_of_two":
            lnd.pay_part(r_hash, value // 2)
        elif how == "settled_short":
            lnd.settle(r_hash, paid_msat=value - 1000)
        await watch(ctx)
        await watch(ctx)
        confirmed = data(
            await client.post(
                "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
            )
        )
        assert confirmed["state"] in ("requires_action", "processing")
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("pending", "awaiting")
        assert await pool(ctx, placed.pool_id) == (10, 2)
        assert (await ledger(client, placed))["transactions"] == []
        if how == "settled_short":
            assert confirmed["details"]["underpaid_sats"] == 1


@pytest.mark.parametrize("node_cancels", [True, False])
async def test_an_expired_invoice_fails_the_payment_and_the_order_waits_for_its_own_expiry(
    make_context: MakeContext, lnd: FakeLnd, node_cancels: bool
) -> None:
    lnd.cancels_expired = node_cancels  # False: the node's expiry watcher has not run yet
    ctx = shop(make_context, lnd.url)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed, payment, r_hash = await open_invoice(client, ctx)
        expires_before = (await order_view(client, placed))["expires_at"]
        lnd.age(r_hash, ctx.settings.lnd_invoice_expiry_seconds + 1)
        assert lnd.invoice(r_hash).state == "OPEN"
        await watch(ctx)
        shown = data(await client.get(f"/api/v1/payments/{payment['id']}", headers=placed.headers))
        assert shown["state"] == ("canceled" if node_cancels else "failed")
        assert shown["error"]
        assert shown["next_action"] is None
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("pending", "failed")
        assert order["expires_at"] == expires_before
        assert await pool(ctx, placed.pool_id) == (10, 2)
        assert await count_tx(ctx, placed.order["id"], TxKind.CAPTURE, TxStatus.SUCCEEDED) == 0
        # The shopper may try again: a new invoice.
        again = await start_payment(client, placed, key="pay-key-000002")
        assert again["id"] != payment["id"]
        assert again["details"]["payment_hash"] != r_hash
        assert len(lnd.invoices) == 2


async def test_a_cancelled_invoice_fails_the_payment(make_context: MakeContext, lnd: FakeLnd) -> None:
    ctx = shop(make_context, lnd.url)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed, payment, r_hash = await open_invoice(client, ctx)
        lnd.cancel(r_hash)
        confirmed = data(
            await client.post(
                "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
            )
        )
        assert confirmed["state"] == "canceled"
        assert (await order_view(client, placed))["payment_status"] == "failed"


async def test_a_settlement_after_the_order_was_cancelled_asks_staff_to_return_it(
    make_context: MakeContext, lnd: FakeLnd
) -> None:
    ctx = shop(make_context, lnd.url)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed, payment, r_hash = await open_invoice(client, ctx)
        order_id = placed.order["id"]
        data(await client.put(f"/api/v1/orders/{order_id}/cancel", headers=placed.headers))
        assert await pool(ctx, placed.pool_id) == (10, 0)
        lnd.settle(r_hash)  # the buyer's wallet paid anyway
        await watch(ctx)
        await watch(ctx)
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("cancelled", "paid")
        kinds = [event["kind"] for event in order["timeline"]]
        assert kinds.count("payment_after_cancel") == 1
        assert kinds.count(REFUND_BY_HAND_EVENT) == 1
        asked = next(e for e in order["timeline"] if e["kind"] == REFUND_BY_HAND_EVENT)
        total_minor = int(Decimal(placed.order["totals"]["total"]) * 100)
        assert asked["data"] == {"payment_id": payment["id"], "gateway": "lightning", "amount": total_minor}
        # Nothing pretended a refund, and the automatic refund ran once and is done: no retry loop.
        assert await count_tx(ctx, order_id, TxKind.REFUND, TxStatus.SUCCEEDED) == 0
        async with ctx.db.session() as session:
            runs = (await session.execute(select(Job).where(Job.name == AUTO_REFUND_JOB))).scalars().all()
        assert [(job.status, job.attempts) for job in runs] == [("done", 1)]
        assert await pool(ctx, placed.pool_id) == (10, 0)  # the cancelled order's stock stays released

        # Staff returned the money by hand and record it: the ledger shows it, the order is refunded.
        staff = await staff_headers(client, ctx, email="refunds@example.com")
        refund = data(
            await client.post(
                "/api/v1/payments/refund",
                json={"order_id": order_id, "reason": "Paid the buyer's own invoice from the shop node."},
                headers={**staff, "Idempotency-Key": "ln-refund-00001"},
            ),
            201,
        )
        assert (refund["gateway"], refund["amount"]) == ("lightning", placed.order["totals"]["total"])
        assert refund["gateway_reference"] == f"by-hand:{order_id}:ln-refund-00001"
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("refunded", "refunded")
        await ctx.jobs.run_until_idle()
        assert [s.method for s in lnd.seen].count("POST") == 1  # nothing but the invoice was ever sent


@pytest.mark.parametrize("fault", ["wrong_macaroon", "node_down", "node_failing"])
async def test_a_node_that_cannot_answer_changes_nothing(
    make_context: MakeContext, lnd: FakeLnd, fault: str
) -> None:
    good = shop(make_context, lnd.url)
    if fault == "wrong_macaroon":
        bad = shop(make_context, lnd.url, lnd_macaroon_hex="02" + "00" * 40)
    elif fault == "node_down":
        bad = shop(make_context, f"http://127.0.0.1:{free_port()}")
    else:
        bad = shop(make_context, lnd.url)
    async with asgi_client(create_app(ctx=good)) as client, asgi_client(create_app(ctx=bad)) as broken:
        placed = await guest_order(client, good, payment_method="lightning")
        if fault == "node_failing":
            lnd.failure = (500, "invoice registry is shutting down")
        refused = error(
            await broken.post(
                "/api/v1/payments/create-intent",
                json={"order_id": placed.order["id"]},
                headers={**placed.headers, "Idempotency-Key": "pay-key-000001"},
            ),
            409,
        )
        assert refused["code"] == "PAYMENT_NOT_POSSIBLE"
        assert "Lightning node" in refused["message"]
        assert MACAROON not in json.dumps(refused)
        assert lnd.invoices == {}
        assert (await ledger(client, placed))["payments"] == []

        lnd.failure = None
        payment = await start_payment(client, placed)
        lnd.settle(payment["details"]["payment_hash"])
        if fault == "node_failing":
            lnd.failure = (500, "invoice registry is shutting down")
        answer = error(
            await broken.post(
                "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
            ),
            409,
        )
        assert "could not be asked" in answer["message"]
        assert MACAROON not in json.dumps(answer)
        await watch(bad)
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("pending", "awaiting")
        assert (await ledger(client, placed))["transactions"] == []
        # Once the node answers again, the watcher records the payment.
        lnd.failure = None
        await watch(good)
        assert (await order_view(client, placed))["payment_status"] == "paid"


async def test_the_node_certificate_is_verified(make_context: MakeContext, tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path, "node")
    other, _ = self_signed_certificate(tmp_path, "other")
    node = FakeLnd(MACAROON, tls=server_tls(cert, key)).start()
    try:
        trusted = shop(make_context, node.url, lnd_tls_cert_path=str(cert))
        stranger = shop(make_context, node.url, lnd_tls_cert_path=str(other))
        async with (
            asgi_client(create_app(ctx=trusted)) as client,
            asgi_client(create_app(ctx=stranger)) as fooled,
        ):
            placed = await guest_order(client, trusted, payment_method="lightning")
            refused = await fooled.post(
                "/api/v1/payments/create-intent",
                json={"order_id": placed.order["id"]},
                headers={**placed.headers, "Idempotency-Key": "pay-key-000001"},
            )
            assert error(refused, 409)["code"] == "PAYMENT_NOT_POSSIBLE"
            assert node.invoices == {}
            payment = await start_payment(client, placed)
            assert payment["details"]["payment_hash"] in node.invoices
    finally:
        node.stop()


async def test_lightning_refuses_webhooks(make_context: MakeContext, lnd: FakeLnd) -> None:
    ctx = shop(make_context, lnd.url)
    async with asgi_client(create_app(ctx=ctx)) as client:
        answer = await client.post("/api/v1/payments/webhook/lightning", content=b'{"state": "SETTLED"}')
        assert error(answer, 400)["code"] == "WEBHOOK_INVALID"


async def test_watchers_and_confirmations_racing_record_one_capture(
    make_committed_context: MakeContext, lnd: FakeLnd
) -> None:
    ctx = shop(make_committed_context, lnd.url)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed, payment, r_hash = await open_invoice(client, ctx)
        lnd.settle(r_hash)
        barrier = asyncio.Barrier(8)

        async def watcher() -> None:
            await barrier.wait()
            await watch_lightning(ctx)

        async def confirm() -> httpx.Response:
            await barrier.wait()
            return await client.post(
                "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
            )

        outcomes = await asyncio.gather(*(watcher() for _ in range(4)), *(confirm() for _ in range(4)))
        assert all(r.status_code == 200 for r in outcomes if isinstance(r, httpx.Response))
        await ctx.jobs.run_until_idle()
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
        assert await count_tx(ctx, placed.order["id"], TxKind.CAPTURE, TxStatus.SUCCEEDED) == 1
        assert await pool(ctx, placed.pool_id) == (8, 0)
