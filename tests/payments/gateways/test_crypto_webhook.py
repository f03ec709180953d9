"""Seed 001's crypto payment notices at POST /api/v1/webhooks/payment: signed with HMAC-SHA256 of the raw
body, stored once per event and transaction, and never believed: the node is asked before anything is
marked paid (a fake Bitcoin Core node on loopback, tests/payments/gateways/fake_bitcoind.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.jobs.models import Job
from emporium.payments.gateways.bitcoin.api import NOTICE_SOURCE
from emporium.payments.gateways.bitcoin.tasks import NOTICE_JOB
from emporium.payments.models import WebhookEvent
from tests.conftest import MakeContext
from tests.payments.conftest import GuestOrder, guest_order, order_view, start_payment
from tests.payments.gateways.fake_bitcoind import FakeBitcoind
from tests.payments.gateways.test_bitcoin import RPC_PASSWORD, RPC_USER, captures, latest, shop, units_due
from tests.support import asgi_client, data, error

NOTICES = "/api/v1/webhooks/payment"
SECRET = "crypto-notice-secret-5d1f"
TXID = "9f" * 32


@pytest.fixture
def node() -> Iterator[FakeBitcoind]:
    fake = FakeBitcoind(user=RPC_USER, password=RPC_PASSWORD)
    fake.start()
    yield fake
    fake.stop()


def notice(placed: GuestOrder, *, txid: str = TXID, event: str = "payment.confirmed") -> bytes:
    # Seed 001's shape, the amount a JSON number as the seed sends it.
    return json.dumps(
        {
            "event": event,
            "data": {
                "orderId": placed.order["number"],
                "transactionHash": txid,
                "amount": 0.001,
                "confirmations": 6,
            },
        }
    ).encode()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Signature": signature, "Content-Type": "application/json"}


async def stored_notices(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(WebhookEvent).where(WebhookEvent.gateway == NOTICE_SOURCE)
            )
            or 0
        )


async def paid_order(make_context: MakeContext, node: FakeBitcoind, **overrides: object) -> AppContext:
    return shop(make_context, node, crypto_webhook_secret=SECRET, **overrides)


async def test_a_signed_notice_the_node_does_not_confirm_changes_nothing(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = await paid_order(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        # Coins seen but not confirmed: the notice's "6 confirmations" is not the node's word.
        node.credit(payment["details"]["address"], units_due(placed.order))
        asked = node.called("getreceivedbyaddress")
        body = notice(placed)
        assert data(await client.post(NOTICES, content=body, headers=signed(body))) == {
            "received": True,
            "duplicate": False,
        }
        await ctx.jobs.run_until_idle()
        assert node.called("getreceivedbyaddress") > asked
        assert (await latest(client, placed))["state"] == "processing"
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("pending", "awaiting")
        assert await captures(ctx, placed.order["id"]) == 0


async def test_forged_missing_and_unreadable_notices_are_refused(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = await paid_order(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        node.credit(payment["details"]["address"], units_due(placed.order), confirmations=6)
        body = notice(placed)
        reserialised = json.dumps(json.loads(body), indent=2).encode()
        garbage = b'{"event": "payment.confirmed", "data": {"orderId": "x"}}'
        bad_hash = notice(placed, txid="0xnothex")
        for sent, headers in (
            (body, signed(body, "not-the-secret")),
            (body, {"Content-Type": "application/json"}),
            (body, {"X-Signature": "zz"}),
            (reserialised, signed(body)),
            (b"not json", signed(b"not json")),
            (garbage, signed(garbage)),
            (bad_hash, signed(bad_hash)),
            (b"[]", signed(b"[]")),
        ):
            assert (
                error(await client.post(NOTICES, content=sent, headers=headers), 400)["code"]
                == "WEBHOOK_INVALID"
            )
        await ctx.jobs.run_until_idle()
        assert await stored_notices(ctx) == 0
        assert (await order_view(client, placed))["payment_status"] == "awaiting"

        stranger = json.dumps(
            {"event": "payment.confirmed", "data": {"orderId": "ORD-2026-999999", "transactionHash": TXID}}
        ).encode()
        assert error(await client.post(NOTICES, content=stranger, headers=signed(stranger)), 404)


async def test_notices_are_refused_while_no_secret_is_set(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = shop(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        body = notice(placed)
        for secret in (SECRET, ""):
            response = await client.post(NOTICES, content=body, headers=signed(body, secret))
            assert error(response, 400)["code"] == "WEBHOOK_INVALID"


async def test_a_repeated_notice_has_one_effect_and_a_confirmed_one_pays(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = await paid_order(make_context, node)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        txid = node.credit(payment["details"]["address"], units_due(placed.order), confirmations=1)
        body = notice(placed, txid=txid)
        answers: list[dict[str, Any]] = [
            data(await client.post(NOTICES, content=body, headers=signed(body))) for _ in range(3)
        ]
        assert [a["duplicate"] for a in answers] == [False, True, True]
        async with ctx.db.session() as session:
            jobs = await session.scalar(select(func.count()).select_from(Job).where(Job.name == NOTICE_JOB))
        assert jobs == 1
        await ctx.jobs.run_until_idle()
        order = await order_view(client, placed)
        assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
        assert await captures(ctx, placed.order["id"]) == 1
        # Another event about the same transaction is a new notice, and still changes nothing twice.
        other = notice(placed, txid=txid, event="payment.received")
        assert data(await client.post(NOTICES, content=other, headers=signed(other)))["duplicate"] is False
        await ctx.jobs.run_until_idle()
        assert await captures(ctx, placed.order["id"]) == 1
        assert await stored_notices(ctx) == 2


async def test_a_notice_while_the_node_is_down_is_retried(
    make_context: MakeContext, node: FakeBitcoind
) -> None:
    ctx = await paid_order(make_context, node, jobs_backoff_base_seconds=60)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx, payment_method="bitcoin")
        payment = await start_payment(client, placed)
        node.credit(payment["details"]["address"], units_due(placed.order), confirmations=1)
        node.stop()
        body = notice(placed)
        data(await client.post(NOTICES, content=body, headers=signed(body)))
        await ctx.jobs.run_until_idle()
        assert (await order_view(client, placed))["payment_status"] == "awaiting"
        async with ctx.db.session() as session:
            job = (await session.execute(select(Job).where(Job.name == NOTICE_JOB))).scalar_one()
            assert job.status == "pending"
            assert job.last_error is not None
            # The retry's time comes.
            job.run_after = utcnow()
        node.start()
        await ctx.jobs.run_until_idle()
        assert (await order_view(client, placed))["payment_status"] == "paid"
        async with ctx.db.session() as session:
            stored = (
                await session.execute(select(WebhookEvent).where(WebhookEvent.gateway == NOTICE_SOURCE))
            ).scalar_one()
            assert stored.processed_at is not None
