"""Watching on-chain payments (the ``bitcoin`` and ``litecoin`` gateways) and acting on crypto notices.

A node tells nothing by itself, so a periodic job asks it about every open payment, and about payments
that closed in the last ``LATE_WATCH`` (coins may still arrive after a quote expired). Each payment is
checked in its own transaction with its order locked, through ``payments.apply``: a node that is down
raises, that payment's transaction rolls back, nothing is marked, and the next round asks again.

Seed 001's signed notices (``POST /api/v1/webhooks/payment``) only make the shop ask the node sooner: what
they claim is never taken for payment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.errors import ValidationFailed
from emporium.core.jobs import PermanentJobError
from emporium.orders.lifecycle import add_event
from emporium.orders.models import OrderStatus
from emporium.payments.fetch import fetch
from emporium.payments.gateways.base import GatewayError
from emporium.payments.gateways.bitcoin.gateway import CHAIN_GATEWAYS
from emporium.payments.gateways.registry import enabled_names
from emporium.payments.gateways.registry import gateway as gateway_named
from emporium.payments.models import PaymentState, WebhookEvent
from emporium.payments.service import payments

log = structlog.get_logger(__name__)

WATCH_JOB = "payments.watch_crypto"
NOTICE_JOB = "payments.crypto_notice"
WATCH_EVERY_SECONDS = 30
WATCH_BATCH = 200
# How long after a payment closed (quote expired, underpaid) its address is still watched for coins.
LATE_WATCH = timedelta(hours=48)
# While coins sent in time wait for their confirmations, the unpaid order is not expired under them.
CONFIRMATION_WAIT = timedelta(hours=2)
OPEN = (PaymentState.REQUIRES_ACTION, PaymentState.PROCESSING)
CLOSED = (PaymentState.FAILED, PaymentState.CANCELED)


async def watched_payments(
    ctx: AppContext, *, order_id: int | None = None, limit: int = WATCH_BATCH
) -> list[int]:
    """Ids of the chain payments to ask the node about: open ones, and recently closed ones."""
    names = [name for name in enabled_names(ctx.settings) if name in CHAIN_GATEWAYS]
    if not names:
        return []
    async with ctx.db.session(read_only=True) as session:
        return await fetch.watched_payment_ids(
            session, names, closed_expiring_after=utcnow() - LATE_WATCH, order_id=order_id, limit=limit
        )


async def check_payment(ctx: AppContext, payment_id: int) -> str:
    """Ask the node about one payment and apply what it says; the payment's state afterwards. Raises
    ``GatewayError`` (and changes nothing) when the node cannot be asked."""
    async with ctx.db.session() as session:
        payment = await fetch.payment(session, payment_id)
        if payment is None:
            raise PermanentJobError(f"payment {payment_id} is gone")
        order = await payments.lock_order(session, payment.order_id)
        # Read again under the order's lock: another check may have moved it meanwhile.
        payment = await fetch.payment(session, payment_id)
        assert payment is not None
        try:
            gateway = gateway_named(ctx.settings, payment.gateway)
        except ValidationFailed:
            return str(payment.state)  # the shop no longer offers this coin: nothing to ask
        was_closed = payment.state in CLOSED
        known = int(payment.details.get("received_units", 0))
        result = await gateway.retrieve(session, payment.reference)
        await payments.apply(session, ctx.settings, order, payment, result)
        received = int(result.details.get("received_units", known))
        if was_closed and payment.state in CLOSED and received > known:
            # Coins for a payment that is over: nobody takes them for the order; staff decide.
            add_event(
                session,
                order,
                "crypto_received_late",
                actor_user_id=None,
                note="Coins arrived for a closed payment and do not pay the order: return them by hand.",
                data={
                    "payment_id": payment.id,
                    "address": payment.reference,
                    "received": result.details.get("received"),
                    "currency": payment.details.get("currency"),
                    "due": payment.details.get("amount"),
                },
            )
        if (
            payment.state == PaymentState.PROCESSING
            and order.status == OrderStatus.PENDING
            and order.expires_at is not None
        ):
            order.expires_at = max(order.expires_at, utcnow() + CONFIRMATION_WAIT)
        await session.flush()
        return str(payment.state)


async def watch(ctx: AppContext, *, order_id: int | None = None) -> tuple[int, int]:
    """One round over the watched payments: (checked, could not be checked)."""
    checked = failed = 0
    for payment_id in await watched_payments(ctx, order_id=order_id):
        try:
            await check_payment(ctx, payment_id)
        except GatewayError as exc:
            failed += 1
            log.warning("crypto_payment_unchecked", payment_id=payment_id, error=str(exc))
            continue
        checked += 1
    return checked, failed


async def watch_crypto(ctx: AppContext, payload: dict[str, Any]) -> None:
    """The periodic watcher's job (one attempt each, see install.py)."""
    await watch(ctx)


async def crypto_notice(ctx: AppContext, payload: dict[str, Any]) -> None:
    """A signed notice says an order's coins arrived: ask the node about that order's payments now. A node
    that cannot be asked fails the job, which is retried with backoff; the notice stays unprocessed."""
    async with ctx.db.session(read_only=True) as session:
        stored = await session.get(WebhookEvent, int(payload["event_row_id"]))
        if stored is None:
            raise PermanentJobError("the notice is gone")
        if stored.processed_at is not None:
            return
    checked, failed = await watch(ctx, order_id=int(payload["order_id"]))
    if failed:
        raise GatewayError(f"{failed} payment(s) of the order could not be checked", retryable=True)
    async with ctx.db.session() as session:
        stored = await session.get(WebhookEvent, int(payload["event_row_id"]))
        if stored is not None:
            stored.processed_at = utcnow()
    log.info("crypto_notice_checked", order_id=payload["order_id"], payments=checked)
