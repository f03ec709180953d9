"""On-chain payments through a Bitcoin Core wallet's JSON-RPC, against a fake node on loopback
(tests/payments/gateways/fake_bitcoind.py).

Guest orders are paid through Emporium's HTTP API; the tests credit coins to the addresses the shop handed
out and mine blocks as the network would, and the watcher job (run through the outbox) records the
outcome. A quote expires by moving its deadline into the past.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.jobs import enqueue
from emporium.core.jobs.models import Job, JobStatus
from emporium.orders.models import Order
from emporium.orders.tasks import expire_unpaid
from emporium.payments.gateways.bitcoin.tasks import WATCH_JOB
from emporium.payments.models import Payment, PaymentTransaction, TxKind, TxStatus
from emporium.payments.service import AUTO_REFUND_JOB
from emporium.payments.tasks import REFUND_BY_HAND_EVENT
from tests.conftest import MakeContext
from tests.inventory.factory import staff_headers
from tests.payments.conftest import GuestOrder, guest_order, order_view, pool, start_payment
from tests.payments.gateways.fake_bitcoind import FakeBitcoind
from tests.support import asgi_client, data, error, free_port

RPC_USER, RPC_PASSWORD = "shop", "rpc-pass-7f3a"
BTC_RATE, LTC_RATE = "0.0000105", "0.0115"


@pytest.fixture
def node() -> Iterator[FakeBitcoind]:
    fake = FakeBitcoind(user=RPC_USER, password=RPC_PASSWORD)
    fake.start()
    yield fake
    fake.stop()


def shop(make_context: MakeContext, node: FakeBitcoind, **overrides: object) -> AppContext:
    values: dict[str, object] = {
        "payment_methods": ["bitcoin", "litecoin", "test"],
        "bitcoin_rpc_url": node.url,
        "bitcoin_rpc_user": RPC_USER,
        "bitcoin_rpc_password": RPC_PASSWORD,
        "crypto_rates": {"BTC": BTC_RATE, "LTC": LTC_RATE},
        "crypto_rates_url": None,
    }
    values.update(overrides)
    return make_context(**values)


async def watch(ctx: AppContext) -> None:
    """One round of the watcher, through the outbox as the periodic schedule runs it."""
    async with ctx.db.session() as session:
        enqueue(session, WATCH_JOB, {})
    await ctx.jobs.run_until_idle()


def units_due(order: dict[str, Any], rate: str = BTC_RATE) -> int:
    coins = (Decimal(order["totals"]["total"]) * Decimal(rate)).quantize(
        Decimal("0.00000001"), rounding=ROUND_CEILING
    )
    return int(coins.scaleb(8))


async def payment_of(client: httpx.AsyncClient, placed: GuestOrder) -> dict[str, Any]:
    shown: dict[str, Any] = data(
        await client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=placed.headers)
    )
    return shown


async def latest(client: httpx.AsyncClient, placed: GuestOrder) -> dict[str, Any]:
    payment: dict[str, Any] = (await payment_of(client, placed))["payments"][-1]
    return payment


async def expire_quote(ctx: AppContext, payment_id: int) -> None:
    async with ctx.db.session() as session:
        await session.execute(
            update(Payment).where(Payment.id == payment_id).values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def expire_order(ctx: AppContext, order_id: int) -> None:
    async with ctx.db.session() as session:
        await session.execute(
            update(Order).where(Order.id == order_id).values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def captures(ctx: AppContext, order_id: int) -> int:
    async with ctx.db.session() as session:
        count = await session.scalar(
            select(func.count()).where(
                PaymentTransaction.order_id == order_id,
                PaymentTransaction.kind == TxKind.CAPTURE,
                PaymentTransaction.status == TxStatus.SUCCEEDED,
            )
        )
        return int(count or 0)


async def events(client: httpx.AsyncClient, ctx: AppContext, placed: GuestOrder) -> list[dict[str, Any]]:
    staff = await staff_headers(client, ctx, email=f"ops-{placed.order['id']}@example.com")
    shown = data(await client.get(f"/api/v1/admin/orders/{placed.order['id']}", headers=staff))
    timeline: list[dict[str, Any]] = shown["timeline"]
    return timeline


async def test_an_exact_payment_is_paid_after_its_confirmation_and_not_before(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        due = units_due(placed.order)
        details = payment["details"]
        address = details["address"]
        assert payment["state"] == "requires_action"
        assert (details["currency"], details["amount_units"]) == ("BTC", due)
        assert details["amount"] == format(Decimal(due).scaleb(-8), "f")
        assert len(details["amount"].split(".")[1]) == 8
        assert details["payment_uri"] == (
            f"bitcoin:{address}?amount={details['amount']}&label={placed.order['number']}"
        )
        assert details["required_confirmations"] == 1
        assert payment["expires_at"] is not None
        assert details["expires_at"]
        assert payment["next_action"]["type"] == "crypto_transfer"
        assert node.wallet.labels[address] == placed.order["number"]
        # Asking again hands out the same address, not a second one.
        again = await start_payment(client, placed, key="pay-key-000002")
        assert again["details"]["address"] == address
        assert len(node.wallet.labels) == 1

        node.credit(address, due)  # in the mempool
        await watch(ctx)
        seen = await latest(client, placed)
        assert (seen["state"], seen["details"]["status"]) == ("processing", "seen")
        assert seen["details"]["received"] == details["amount"]
        assert (await order_view(client, placed))["payment_status"] == "awaiting"
        assert await pool(ctx, placed.pool_id) == (10, 2)

        node.mine(1)
        await watch(ctx)
        paid = await latest(client, placed)
        assert (paid["state"], paid["details"]["status"]) == ("succeeded", "confirmed")
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
        assert await pool(ctx, placed.pool_id) == (8, 0)
        await watch(ctx)
        assert await captures(ctx, placed.order["id"]) == 1
        assert (await payment_of(client, placed))["captured"] == placed.order["totals"]["total"]


async def test_an_underpayment_shows_the_shortfall_and_a_top_up_pays(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        due, address = units_due(placed.order), payment["details"]["address"]
        node.credit(address, due - 1000, confirmations=3)
        await watch(ctx)
        short = await latest(client, placed)
        assert (short["state"], short["details"]["status"]) == ("requires_action", "underpaid")
        assert short["details"]["shortfall_units"] == 1000
        assert short["details"]["shortfall"] == "0.00001000"
        assert short["next_action"]["address"] == address
        assert (await order_view(client, placed))["payment_status"] == "awaiting"

        node.credit(address, 1000, confirmations=1)
        await watch(ctx)
        assert (await latest(client, placed))["state"] == "succeeded"
        assert (await order_view(client, placed))["payment_status"] == "paid"


async def test_an_underpayment_fails_as_underpaid_when_the_quote_expires(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        due = units_due(placed.order)
        node.credit(payment["details"]["address"], due // 2, confirmations=2)
        await expire_quote(ctx, payment["id"])
        await watch(ctx)
        failed = await latest(client, placed)
        assert (failed["state"], failed["details"]["status"]) == ("failed", "underpaid")
        assert "Underpaid" in failed["error"]
        assert failed["details"]["received_units"] == due // 2
        assert failed["next_action"] is None
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("pending", "failed")
        assert await captures(ctx, placed.order["id"]) == 0
        # The shopper may start again: a new quote to a new address.
        fresh = await start_payment(client, placed, key="pay-key-000003")
        assert fresh["id"] != payment["id"]
        assert fresh["details"]["address"] != payment["details"]["address"]


async def test_an_overpayment_pays_and_is_shown(make_context: MakeContext, node: FakeBitcoind) -> None:
    ctx = shop(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        node.credit(payment["details"]["address"], units_due(placed.order) + 25_000, confirmations=1)
        await watch(ctx)
        paid = await latest(client, placed)
        assert (paid["state"], paid["details"]["status"]) == ("succeeded", "overpaid")
        assert (paid["details"]["overpaid_units"], paid["details"]["overpaid"]) == (25_000, "0.00025000")
        assert (await order_view(client, placed))["payment_status"] == "paid"
        # The shop records the order's total, not the surplus.
        assert (await payment_of(client, placed))["captured"] == placed.order["totals"]["total"]


async def test_nothing_received_before_the_expiry_cancels_and_the_order_expires(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        await watch(ctx)
        assert (await latest(client, placed))["details"]["status"] == "waiting"
        await expire_quote(ctx, payment["id"])
        await watch(ctx)
        expired = await latest(client, placed)
        assert (expired["state"], expired["details"]["status"]) == ("canceled", "expired")
        await expire_order(ctx, placed.order["id"])
        assert await expire_unpaid(ctx) == 1
        assert (await order_view(client, placed))["status"] == "cancelled"
        assert await pool(ctx, placed.pool_id) == (10, 0)


async def test_late_coins_for_a_cancelled_order_go_to_staff_without_a_loop(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        await expire_quote(ctx, payment["id"])
        await watch(ctx)
        await expire_order(ctx, placed.order["id"])
        assert await expire_unpaid(ctx) == 1

        node.credit(payment["details"]["address"], units_due(placed.order), confirmations=1)
        await watch(ctx)
        await watch(ctx)
        late = await latest(client, placed)
        assert late["state"] == "succeeded"
        assert late["details"]["late"] is True
        order = await order_view(client, placed)
        assert order["status"] == "cancelled"
        assert await pool(ctx, placed.pool_id) == (10, 0)
        timeline = await events(client, ctx, placed)
        asks = [e for e in timeline if e["kind"] == REFUND_BY_HAND_EVENT]
        assert len(asks) == 1
        assert "by hand" in asks[0]["note"]
        async with ctx.db.session() as session:
            refund_jobs = (
                (await session.execute(select(Job).where(Job.name == AUTO_REFUND_JOB))).scalars().all()
            )
        assert refund_jobs
        assert all(j.status == JobStatus.DONE for j in refund_jobs)
        assert (await payment_of(client, placed))["refunded"] == "0.00"

        # Staff return the coins from the wallet and record the transaction.
        refunder = await staff_headers(client, ctx, email="refunds@example.com")
        automatic = await client.post(
            "/api/v1/payments/refund",
            json={"order_id": placed.order["id"], "reason": "cancelled"},
            headers={**refunder, "Idempotency-Key": "refund-key-001"},
        )
        assert error(automatic, 409)["code"] == "PAYMENT_NOT_POSSIBLE"
        unknown = await client.post(
            "/api/v1/payments/crypto/refunds",
            json={"order_id": placed.order["id"], "txid": "ab" * 32},
            headers=refunder,
        )
        assert error(unknown, 409)["code"] == "PAYMENT_NOT_POSSIBLE"
        received_txid = node.wallet.txs[0].txid  # a receive, not a send: refused
        assert error(
            await client.post(
                "/api/v1/payments/crypto/refunds",
                json={"order_id": placed.order["id"], "txid": received_txid},
                headers=refunder,
            ),
            409,
        )
        txid = node.send("bcrt1qbuyer0000000000000000000000000000000", units_due(placed.order) - 300)
        body = {"order_id": placed.order["id"], "txid": txid.upper()}
        recorded = data(
            await client.post("/api/v1/payments/crypto/refunds", json=body, headers=refunder), 201
        )
        assert (recorded["kind"], recorded["status"], recorded["gateway_reference"]) == (
            "refund",
            "succeeded",
            txid,
        )
        again = data(await client.post("/api/v1/payments/crypto/refunds", json=body, headers=refunder), 201)
        assert again["id"] == recorded["id"]
        ledger = await payment_of(client, placed)
        assert (ledger["refunded"], ledger["payment_status"]) == (placed.order["totals"]["total"], "refunded")
        assert (await order_view(client, placed))["status"] == "refunded"
        await ctx.jobs.run_until_idle()
        assert error(
            await client.post(
                "/api/v1/payments/crypto/refunds",
                json={"order_id": placed.order["id"], "txid": "not-a-txid"},
                headers=refunder,
            ),
            422,
        )


async def test_late_coins_pay_a_still_payable_order_only_when_they_cover_the_quote(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        address, due = payment["details"]["address"], units_due(placed.order)
        await expire_quote(ctx, payment["id"])
        await watch(ctx)
        node.credit(address, due - 5000, confirmations=1)
        await watch(ctx)
        short = await latest(client, placed)
        assert (short["state"], short["details"]["received_units"]) == ("canceled", due - 5000)
        assert (await order_view(client, placed))["payment_status"] == "failed"
        late_events = [e for e in await events(client, ctx, placed) if e["kind"] == "crypto_received_late"]
        assert len(late_events) == 1
        assert late_events[0]["data"]["address"] == address

        node.credit(address, 5000, confirmations=1)
        await watch(ctx)
        assert (await latest(client, placed))["state"] == "succeeded"
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("confirmed", "paid")


async def test_a_node_that_is_down_changes_nothing_and_is_asked_again(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        node.stop()
        refused = await client.post(
            "/api/v1/payments/create-intent",
            json={"order_id": placed.order["id"]},
            headers={**placed.headers, "Idempotency-Key": "pay-key-down-1"},
        )
        assert error(refused, 409)["code"] == "PAYMENT_NOT_POSSIBLE"
        node.start()
        payment = await start_payment(client, placed)
        node.credit(payment["details"]["address"], units_due(placed.order), confirmations=1)
        node.stop()
        await watch(ctx)
        waiting = await latest(client, placed)
        assert (waiting["state"], waiting["details"]["status"]) == ("requires_action", "waiting")
        confirm = await client.post(
            "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
        )
        assert error(confirm, 409)["code"] == "PAYMENT_NOT_POSSIBLE"
        assert await captures(ctx, placed.order["id"]) == 0

        node.start()
        confirmed = data(
            await client.post(
                "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
            )
        )
        assert confirmed["state"] == "succeeded"
        assert (await order_view(client, placed))["payment_status"] == "paid"


async def test_wrong_credentials_are_a_refusal_not_a_server_error(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_context, node, bitcoin_rpc_password="wrong")
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        response = await client.post(
            "/api/v1/payments/create-intent",
            json={"order_id": placed.order["id"]},
            headers={**placed.headers, "Idempotency-Key": "pay-key-auth-1"},
        )
        assert error(response, 409)["code"] == "PAYMENT_NOT_POSSIBLE"
        assert node.wallet.labels == {}


async def test_a_large_order_waits_for_six_confirmations(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_context, node, bitcoin_large_amount_minor=4000)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        assert payment["details"]["required_confirmations"] == 6
        node.credit(payment["details"]["address"], units_due(placed.order), confirmations=1)
        for _ in range(4):
            await watch(ctx)
            assert (await latest(client, placed))["state"] == "processing"
            node.mine(1)
        await watch(ctx)
        assert (await latest(client, placed))["details"]["confirmed_units"] == 0  # five so far
        node.mine(1)
        await watch(ctx)
        assert (await latest(client, placed))["state"] == "succeeded"


async def test_coins_seen_in_time_are_waited_for_after_the_quote_expires(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        node.credit(payment["details"]["address"], units_due(placed.order))
        await watch(ctx)
        await expire_quote(ctx, payment["id"])
        await expire_order(ctx, placed.order["id"])
        await watch(ctx)
        assert (await latest(client, placed))["state"] == "processing"
        # The order is not expired while its coins wait for their block.
        assert await expire_unpaid(ctx) == 0
        node.mine(1)
        await watch(ctx)
        assert (await order_view(client, placed))["payment_status"] == "paid"


async def test_a_litecoin_order_is_quoted_in_ltc(make_context: MakeContext, node: FakeBitcoind) -> None:
    ltc = FakeBitcoind(user="ltc", password="ltc-pass-1", hrp="rltc")
    ltc.start()
    try:
        ctx = shop(
            make_context,
            node,
            litecoin_rpc_url=ltc.url,
            litecoin_rpc_user="ltc",
            litecoin_rpc_password="ltc-pass-1",
            litecoin_confirmations=2,
        )
        async with asgi_client(create_app(ctx=ctx)) as client:
            methods = data(await client.get("/api/v1/payments/methods"))
            assert {"bitcoin", "litecoin"} <= {m["code"] for m in methods}
            placed = await guest_order(client, ctx, payment_method="litecoin")
            payment = await start_payment(client, placed)
            details = payment["details"]
            due = units_due(placed.order, LTC_RATE)
            assert (details["currency"], details["amount_units"], details["rate"]) == ("LTC", due, LTC_RATE)
            assert details["payment_uri"].startswith(f"litecoin:{details['address']}?amount=")
            assert details["required_confirmations"] == 2
            assert details["address"] in ltc.wallet.labels
            assert not node.wallet.labels
            ltc.credit(details["address"], due, confirmations=1)
            await watch(ctx)
            assert (await latest(client, placed))["state"] == "processing"
            ltc.mine(1)
            await watch(ctx)
            assert (await order_view(client, placed))["payment_status"] == "paid"
    finally:
        ltc.stop()


async def test_many_simultaneous_checks_capture_once(
    make_committed_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_committed_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        node.credit(payment["details"]["address"], units_due(placed.order), confirmations=1)
        barrier = asyncio.Barrier(6)

        async def confirm() -> httpx.Response:
            await barrier.wait()
            return await client.post(
                "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
            )

        async def watcher() -> None:
            await barrier.wait()
            await watch(ctx)

        responses, _ = await asyncio.gather(asyncio.gather(*(confirm() for _ in range(5))), watcher())
        assert [r.status_code for r in responses] == [200] * 5
        assert await captures(ctx, placed.order["id"]) == 1
        assert await pool(ctx, placed.pool_id) == (8, 0)


async def test_no_quote_from_stale_rates_when_the_rate_provider_is_down(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_context, node, crypto_rates_url=f"http://127.0.0.1:{free_port()}/rates")
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        response = await client.post(
            "/api/v1/payments/create-intent",
            json={"order_id": placed.order["id"]},
            headers={**placed.headers, "Idempotency-Key": "pay-key-rates-1"},
        )
        assert "exchange rate" in error(response, 409)["message"]
        assert node.wallet.labels == {}
