"""Background work of the payments domain, and its hooks into the order lifecycle."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.jobs import PermanentJobError, enqueue
from emporium.orders import notices
from emporium.orders.lifecycle import add_event
from emporium.orders.models import Order, OrderStatus, PaymentStatus
from emporium.orders.service import orders
from emporium.payments.fetch import fetch
from emporium.payments.gateways.base import PaymentResult
from emporium.payments.gateways.offline.gateway import BANK_TRANSFER, CASH_ON_DELIVERY
from emporium.payments.gateways.offline.recording import staff_money
from emporium.payments.gateways.registry import built
from emporium.payments.gateways.test.gateway import NAME as TEST_GATEWAY
from emporium.payments.gateways.test.gateway import TestGateway
from emporium.payments.models import PaymentState, WebhookEvent
from emporium.payments.service import AUTO_REFUND_JOB, payments
from emporium.payments.webhooks import receive

log = structlog.get_logger(__name__)

DELIVER_TEST_WEBHOOK_JOB = "payments.deliver_test_webhook"
REFUND_BY_HAND_EVENT = "refund_by_hand_needed"


async def process_event(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Act on a verified webhook event: find its payment, lock the order, apply what the gateway says.
    Events about payments this shop does not know, or carrying no state, are acknowledged and ignored."""
    async with ctx.db.session() as session:
        stored = await session.get(WebhookEvent, int(payload["event_row_id"]))
        if stored is None:
            raise PermanentJobError("the webhook event is gone")
        if stored.processed_at is not None:
            return
        stored.processed_at = utcnow()
        reference, state = payload.get("reference"), payload.get("state")
        payment = (
            await fetch.payment_by_reference(session, stored.gateway, str(reference)) if reference else None
        )
        if payment is not None and _asks_the_gateway(ctx.settings, stored.gateway, stored.event_type):
            order = await payments.lock_order(session, payment.order_id)
            # Only while the order waits for its money: none is taken for one that expired meanwhile.
            if order.status == OrderStatus.PENDING:
                await payments.reconcile(session, ctx.settings, order, payment)
            return
        refunded = payload.get("refunded_minor")
        if payment is None or (not state and refunded is None):
            log.info("webhook_ignored", gateway=stored.gateway, event_type=stored.event_type)
            return
        order = await payments.lock_order(session, payment.order_id)
        # Read again under the order's lock: a racing confirmation may have moved it meanwhile.
        await session.refresh(payment)
        if refunded is not None:
            await payments.sync_refunds(session, ctx.settings, order, payment, int(refunded), stored.payload)
        if not state:
            return
        amount = payload.get("amount_minor")
        result = PaymentResult(
            reference=payment.reference,
            state=PaymentState(state),
            amount_minor=int(amount) if amount is not None else payment.amount_minor,
            currency=payment.currency,
            card_brand=payload.get("card_brand"),
            card_last4=payload.get("card_last4"),
            error=payload.get("error"),
            raw=stored.payload,
        )
        await payments.apply(session, ctx.settings, order, payment, result)


def _asks_the_gateway(settings: Settings, gateway_name: str, event_type: str) -> bool:
    """Events after which the shop itself must act at the provider (``Gateway.reconcile_events``): the job
    asks the gateway, whose ``retrieve`` does what is due."""
    gateway = built(settings, gateway_name)
    return gateway is not None and event_type in gateway.reconcile_events


async def refund_unwanted(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Money the order must not keep: all of it when the order was cancelled (or had expired), what was
    captured beyond its total when it was paid twice. The key names the captured total, so a later
    duplicate is refunded too while a repeated job refunds nothing twice."""
    async with ctx.db.session() as session:
        order = await payments.lock_order(session, int(payload["order_id"]))
        balance = await fetch.balance(session, order.id)
        cancelled = order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
        amount = balance.refundable_minor - (0 if cancelled else order.total_minor)
        if amount <= 0:
            return
        if await _ask_staff_to_refund(session, ctx.settings, order, amount):
            return
        reason = (
            "The order was cancelled; the payment is returned automatically."
            if cancelled
            else "The order was paid twice; the second payment is returned automatically."
        )
        await payments.refund(
            session,
            ctx.settings,
            order,
            amount_minor=amount,
            reason=reason,
            idempotency_key=f"auto-{order.id}-{balance.captured_minor}",
            actor_user_id=None,
        )


async def _ask_staff_to_refund(session: AsyncSession, settings: Settings, order: Order, amount: int) -> bool:
    """A gateway that cannot push money back by itself (``refunds_by_hand``: Lightning needs an invoice
    from the buyer) is not refunded automatically, which would record money that never moved: an order
    event, written once, asks staff to return it and record the refund. True when it was asked."""
    payment = next(iter(await fetch.refundable_payments(session, order.id)), None)
    gateway = built(settings, payment.gateway) if payment is not None else None
    if payment is None or gateway is None or not gateway.refunds_by_hand:
        return False
    events = await orders.events(session, order)
    if not any(e.kind == REFUND_BY_HAND_EVENT and e.data.get("payment_id") == payment.id for e in events):
        add_event(
            session,
            order,
            REFUND_BY_HAND_EVENT,
            actor_user_id=None,
            note=f"The {payment.gateway} payment cannot be returned automatically: staff return it to the "
            "buyer by hand and record the refund.",
            data={"payment_id": payment.id, "gateway": payment.gateway, "amount": amount},
        )
        log.warning("refund_by_hand_needed", order_id=order.id, gateway=payment.gateway, amount=amount)
    return True


async def deliver_test_webhook(ctx: AppContext, payload: dict[str, Any]) -> None:
    """The test gateway's side: sign the event and deliver it to the shop's webhook handler."""
    gateway = TestGateway(ctx.settings)
    body, headers = gateway.signed(payload["event"])
    async with ctx.db.session() as session:
        await receive(session, ctx.settings, TEST_GATEWAY, body, headers)


def queue_test_webhook(session: AsyncSession, event: dict[str, Any]) -> None:
    enqueue(session, DELIVER_TEST_WEBHOOK_JOB, {"event": event})


async def prepare_placed(session: AsyncSession, settings: Settings, order: Order) -> None:
    if order.payment_method == BANK_TRANSFER:
        order.payment_status = PaymentStatus.PENDING_VERIFICATION
        notices.payment_awaiting(session, settings, order)


async def refund_cancelled(session: AsyncSession, settings: Settings, order: Order) -> None:
    enqueue(session, AUTO_REFUND_JOB, {"order_id": order.id})


async def record_delivery(
    session: AsyncSession, settings: Settings, order: Order, left: OrderStatus, actor_user_id: int | None
) -> None:
    if order.status == OrderStatus.DELIVERED and order.payment_method == CASH_ON_DELIVERY:
        await staff_money.record_cash_on_delivery(session, settings, order, actor_user_id)
