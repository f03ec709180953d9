"""Payment rules: starting a payment, applying what a gateway says, refunds and staff-recorded money.

Every movement of money is a ledger row; the order's payment status is recomputed from the ledger after
each one. Anything that changes an order's money works on the order row locked FOR UPDATE (PostgreSQL; on
SQLite writers are serialised anyway), so two refunds, or a webhook and a confirmation, never interleave.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core import idempotency
from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.errors import Conflict
from emporium.core.jobs import enqueue
from emporium.core.metrics import PAYMENTS, REFUNDS, count_after_commit
from emporium.core.money import from_minor
from emporium.orders import notices
from emporium.orders.lifecycle import add_event, lifecycle
from emporium.orders.models import Order, OrderStatus, PaymentStatus
from emporium.orders.names import order_status_name, payment_status_name
from emporium.orders.service import order_not_found, orders
from emporium.payments.errors import PaymentError
from emporium.payments.gateways.base import GatewayError, PaymentResult, RefundRequest, StartRequest
from emporium.payments.gateways.offline.gateway import BANK_TRANSFER
from emporium.payments.gateways.registry import gateway as gateway_named
from emporium.payments.ledger import amount_due, payment_status
from emporium.payments.models import Payment, PaymentState, PaymentTransaction, TxKind, TxStatus
from emporium.payments.repository import PaymentRepository

log = structlog.get_logger(__name__)

AUTO_REFUND_JOB = "payments.refund_unwanted"
REFUND_OPERATION = "refund"
PAYABLE = frozenset({PaymentStatus.AWAITING, PaymentStatus.FAILED})


class PaymentNotPossible(Conflict):
    code = PaymentError.PAYMENT_NOT_POSSIBLE


class RefundTooLarge(Conflict):
    code = PaymentError.REFUND_EXCEEDS_CAPTURED
    message = "A refund cannot be larger than what was captured and not yet refunded."


def shown_details(result: PaymentResult) -> dict[str, Any]:
    """What of a gateway's answer is kept on the payment for the shopper and staff."""
    details = dict(result.details)
    if result.next_action is not None:
        details["next_action"] = result.next_action
    return details


class PaymentService:
    async def lock_order(self, session: AsyncSession, order_id: int) -> Order:
        order = await orders.order(session, order_id, lock=True)
        if order is None:
            raise order_not_found()
        return order

    async def refresh_status(self, session: AsyncSession, order: Order) -> PaymentStatus:
        balance = await PaymentRepository(session).balance(order.id)
        waiting = order.payment_method == BANK_TRANSFER and order.status != OrderStatus.CANCELLED
        status = payment_status(balance, total_minor=order.total_minor, waiting_for_transfer=waiting)
        order.payment_status = status
        return status

    # Starting ---------------------------------------------------------------------------------------------

    async def start(
        self, session: AsyncSession, settings: Settings, order: Order, *, idempotency_key: str
    ) -> Payment:
        """Open a payment of a locked, unpaid order with its gateway; an open one is handed out again."""
        gateway = gateway_named(settings, order.payment_method)
        if not gateway.online:
            raise PaymentNotPossible(f"{gateway.title} is not paid online.")
        if order.status != OrderStatus.PENDING or PaymentStatus(order.payment_status) not in PAYABLE:
            raise PaymentNotPossible(
                f"This order cannot be paid now (it is {order.status}, {order.payment_status})."
            )
        repo = PaymentRepository(session)
        existing = await repo.open_payment(order.id, gateway.name)
        if existing is not None:
            return existing
        # After a partial capture, what is still due (the whole total otherwise).
        due = amount_due(await repo.balance(order.id), order.total_minor)
        try:
            result = await gateway.start(
                session,
                StartRequest(
                    order_id=order.id,
                    order_number=order.number,
                    amount_minor=due,
                    currency=order.currency,
                    email=order.contact_email,
                    idempotency_key=f"{order.id}:{idempotency_key}",
                    return_url=f"{settings.public_url}/orders/{order.id}/paid",
                ),
            )
        except GatewayError as exc:
            raise PaymentNotPossible(f"The payment could not be started: {exc}") from exc
        payment = Payment(
            order_id=order.id,
            gateway=gateway.name,
            reference=result.reference,
            state=result.state,
            amount_minor=result.amount_minor,
            currency=result.currency,
            client_secret=result.client_secret,
            details=shown_details(result),
            expires_at=result.expires_at,
        )
        session.add(payment)
        await session.flush()
        if result.state is not PaymentState.REQUIRES_ACTION:
            await self.apply(session, settings, order, payment, result)
        return payment

    async def change_method(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        method: str,
        *,
        actor_user_id: int | None,
    ) -> None:
        """Pay a locked, unpaid order another way (after a declined card, say): the order and its reserved
        stock are kept. An offline method waits for staff like an order placed with it; a payment still open
        at the old gateway may yet succeed, and is then applied (and a second one refunded) as usual."""
        gateway = gateway_named(settings, method)
        if order.status != OrderStatus.PENDING or PaymentStatus(order.payment_status) not in PAYABLE:
            state = f"{order_status_name(order.status)}, {payment_status_name(order.payment_status)}"
            raise PaymentNotPossible(f"This order cannot be paid another way now ({state.lower()}).")
        previous = order.payment_method
        if gateway.name == previous:
            return
        order.payment_method = gateway.name
        if gateway.online:
            timeout = timedelta(minutes=settings.order_payment_timeout_minutes)
            order.expires_at = order.expires_at or utcnow() + timeout
        else:
            # Staff have as long to confirm it as an order placed with this method (orders/limits.py).
            order.expires_at = utcnow() + timedelta(hours=settings.offline_order_timeout_hours)
            waiting = gateway.name == BANK_TRANSFER
            order.payment_status = PaymentStatus.PENDING_VERIFICATION if waiting else PaymentStatus.AWAITING
            if waiting:
                notices.payment_awaiting(session, settings, order)
        add_event(
            session,
            order,
            "payment_method_changed",
            actor_user_id=actor_user_id,
            data={"from": previous, "to": gateway.name},
        )
        await session.flush()

    # Applying what a gateway says --------------------------------------------------------------------------

    async def apply(
        self, session: AsyncSession, settings: Settings, order: Order, payment: Payment, result: PaymentResult
    ) -> None:
        """Bring a payment (of a locked order) in line with the gateway. Safe to repeat and out of order: a
        payment that succeeded stays succeeded, and its capture is recorded once."""
        payment.card_brand = result.card_brand or payment.card_brand
        payment.card_last4 = result.card_last4 or payment.card_last4
        if result.details or result.next_action:
            payment.details = {**payment.details, **shown_details(result)}
        payment.expires_at = result.expires_at or payment.expires_at
        if payment.state == PaymentState.SUCCEEDED or result.state == payment.state:
            return
        if result.state is PaymentState.SUCCEEDED:
            payment.state, payment.error = PaymentState.SUCCEEDED, None
            await self.record(
                session,
                order,
                payment,
                TxKind.CAPTURE,
                TxStatus.SUCCEEDED,
                result.amount_minor,
                key=f"capture:{payment.gateway}:{payment.reference}",
                raw=result.raw,
            )
            status = await self.refresh_status(session, order)
            if status is PaymentStatus.AWAITING and order.status != OrderStatus.CANCELLED:
                await self._partly_paid(session, order, payment, result.amount_minor)
                return
            if not await lifecycle.confirm_payment(session, settings, order):
                # The order expired or was cancelled before the money came: give it back.
                add_event(
                    session,
                    order,
                    "payment_after_cancel",
                    actor_user_id=None,
                    data={"payment_id": payment.id, "amount": result.amount_minor},
                )
                enqueue(session, AUTO_REFUND_JOB, {"order_id": order.id})
            elif (await PaymentRepository(session).balance(order.id)).refundable_minor > order.total_minor:
                # Paid twice (a second attempt, a stale payment page): the surplus goes back.
                add_event(
                    session,
                    order,
                    "payment_duplicate",
                    actor_user_id=None,
                    data={"payment_id": payment.id, "amount": result.amount_minor},
                )
                enqueue(session, AUTO_REFUND_JOB, {"order_id": order.id})
            return
        if result.state in (PaymentState.FAILED, PaymentState.CANCELED):
            payment.state, payment.error = result.state, result.error
            await self.record(
                session,
                order,
                payment,
                TxKind.CAPTURE,
                TxStatus.FAILED,
                result.amount_minor,
                key=f"failed:{payment.gateway}:{payment.reference}",
                raw=result.raw,
                error=result.error,
            )
            await self.refresh_status(session, order)
            add_event(session, order, "payment_failed", actor_user_id=None, note=result.error)
            notices.payment_failed(
                session,
                settings,
                order,
                reason=result.error,
                attempt=f"{payment.gateway}:{payment.reference}",
            )
            return
        payment.state = result.state

    async def _partly_paid(self, session: AsyncSession, order: Order, payment: Payment, amount: int) -> None:
        """A capture short of the total: the order stays unpaid and unconfirmed, and both the shopper (the
        payment's details, on the order's page) and staff (an order event) see what is still due."""
        balance = await PaymentRepository(session).balance(order.id)
        currency = order.currency
        due = amount_due(balance, order.total_minor)
        shown = {
            "received": str(from_minor(balance.captured_minor, currency)),
            "due": str(from_minor(due, currency)),
            "total": str(from_minor(order.total_minor, currency)),
            "currency": currency,
        }
        payment.details = {**payment.details, "underpaid": shown}
        add_event(
            session,
            order,
            "payment_partial",
            actor_user_id=None,
            note=f"Received {shown['received']} of {shown['total']} {currency}: "
            f"{shown['due']} {currency} is still due.",
            data={"payment_id": payment.id, "amount": amount, "due": due, **shown},
        )
        log.warning("payment_partial", order_id=order.id, captured=balance.captured_minor, due=due)

    async def reconcile(
        self, session: AsyncSession, settings: Settings, order: Order, payment: Payment
    ) -> Payment:
        """Ask the gateway what became of a payment (after a timeout, or when the shopper says it is done)."""
        # Read again now that the order is locked: a racing confirmation may have settled it meanwhile.
        await session.refresh(payment)
        gateway = gateway_named(settings, payment.gateway)
        try:
            result = await gateway.retrieve(session, payment.reference)
        except GatewayError as exc:
            raise PaymentNotPossible(f"The payment provider could not be asked: {exc}") from exc
        await self.apply(session, settings, order, payment, result)
        await session.flush()
        return payment

    # Refunds ----------------------------------------------------------------------------------------------

    async def refund(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        *,
        amount_minor: int | None,
        reason: str | None,
        idempotency_key: str,
        actor_user_id: int | None,
        request_digest: str | None = None,
    ) -> PaymentTransaction:
        """Refund (part of) what a locked order captured. The same key returns the same refund; a refund
        larger than what is left is a 409, however many refunds race (the order row is locked).
        ``request_digest`` (a client's request): the same key with another request is refused (409)."""
        repo = PaymentRepository(session)
        if request_digest is not None:
            await idempotency.claim(
                session,
                scope=f"user:{actor_user_id}",
                operation=REFUND_OPERATION,
                key=idempotency_key,
                digest=request_digest,
            )
        key = f"refund:{idempotency_key}"
        earlier = await repo.transaction_by_key(order.id, key)
        if earlier is not None:
            return earlier
        balance = await repo.balance(order.id)
        amount = balance.refundable_minor if amount_minor is None else amount_minor
        if amount <= 0 or amount > balance.refundable_minor:
            raise RefundTooLarge(
                details=[
                    {"field": "amount", "message": f"at most {max(balance.refundable_minor, 0)} minor units"}
                ]
            )
        payment = next(iter(await repo.refundable_payments(order.id)), None)
        gateway_name = payment.gateway if payment is not None else order.payment_method
        gateway = gateway_named(settings, gateway_name) if payment is not None else None
        if gateway is not None and payment is not None:
            try:
                result = await gateway.refund(
                    session,
                    RefundRequest(
                        payment.reference, amount, order.currency, reason, f"{order.id}:{idempotency_key}"
                    ),
                )
            except GatewayError as exc:
                raise PaymentNotPossible(f"The refund could not be made: {exc}") from exc
            status = TxStatus.SUCCEEDED if result.succeeded else TxStatus.FAILED
            raw, error, reference = result.raw, result.error, result.reference
        else:  # cash or a bank transfer: staff give the money back by hand, the ledger records it
            status, raw, error, reference = TxStatus.SUCCEEDED, {}, None, None
        tx = await self.record(
            session,
            order,
            payment,
            TxKind.REFUND,
            status,
            amount,
            key=key,
            raw=raw,
            error=error,
            gateway=gateway_name,
            reference=reference,
            actor_user_id=actor_user_id,
            reason=reason,
        )
        if status is TxStatus.FAILED:
            raise PaymentNotPossible(f"The refund was refused: {error}")
        await self._refunded(session, settings, order, amount, reason=reason, actor_user_id=actor_user_id)
        return tx

    async def sync_refunds(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        payment: Payment,
        refunded_minor: int,
        raw: dict[str, object],
    ) -> None:
        """A gateway says ``refunded_minor`` of this payment has been refunded in all (a refund made in its
        dashboard, or the settlement of ours): record what the ledger does not know yet. The key is the
        running total, so repeated and out-of-order notices record nothing twice, and never more than was
        captured."""
        repo = PaymentRepository(session)
        known = await repo.refunded_of(payment.id)
        balance = await repo.balance(order.id)
        missing = min(refunded_minor - known, balance.refundable_minor)
        if missing <= 0:
            return
        await self.record(
            session,
            order,
            payment,
            TxKind.REFUND,
            TxStatus.SUCCEEDED,
            missing,
            key=f"provider-refund:{payment.gateway}:{payment.reference}:{refunded_minor}",
            raw=raw,
            reason="Refunded at the payment provider.",
        )
        await self._refunded(
            session, settings, order, missing, reason="Refunded at the payment provider.", actor_user_id=None
        )

    async def _refunded(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        amount: int,
        *,
        reason: str | None,
        actor_user_id: int | None,
    ) -> None:
        """After a refund is in the ledger: the payment status, an event, and a cancelled or returned order
        moves to (partially) refunded."""
        paid_status = await self.refresh_status(session, order)
        add_event(session, order, "refund", actor_user_id=actor_user_id, note=reason, data={"amount": amount})
        if OrderStatus(order.status) in (
            OrderStatus.CANCELLED,
            OrderStatus.RETURNED,
            OrderStatus.PARTIALLY_REFUNDED,
        ):
            target = (
                OrderStatus.REFUNDED
                if paid_status is PaymentStatus.REFUNDED
                else OrderStatus.PARTIALLY_REFUNDED
            )
            if target != order.status:
                await lifecycle.move(
                    session, settings, order, target, actor_user_id=actor_user_id, note=reason
                )
        await session.flush()

    async def record(
        self,
        session: AsyncSession,
        order: Order,
        payment: Payment | None,
        kind: TxKind,
        status: TxStatus,
        amount_minor: int,
        *,
        key: str,
        raw: dict[str, object],
        error: str | None = None,
        gateway: str | None = None,
        reference: str | None = None,
        actor_user_id: int | None = None,
        reason: str | None = None,
    ) -> PaymentTransaction:
        existing = await PaymentRepository(session).transaction_by_key(order.id, key)
        if existing is not None:
            return existing
        tx = PaymentTransaction(
            order_id=order.id,
            payment_id=payment.id if payment is not None else None,
            kind=kind,
            status=status,
            amount_minor=amount_minor,
            currency=order.currency,
            gateway=gateway or (payment.gateway if payment is not None else order.payment_method),
            gateway_reference=reference or (payment.reference if payment is not None else None),
            raw_response=dict(raw),
            error=error,
            reason=reason,
            idempotency_key=key,
            actor_user_id=actor_user_id,
        )
        session.add(tx)
        await session.flush()
        _count(session, tx)
        log.info("payment_recorded", order_id=order.id, kind=kind, status=status, amount=amount_minor)
        return tx


def _count(session: AsyncSession, tx: PaymentTransaction) -> None:
    """The ledger's events that the shop's metrics count, once the transaction recording them commits
    (a transaction row is never changed afterwards: a later outcome is a row of its own)."""
    if tx.kind == TxKind.CAPTURE and tx.status == TxStatus.SUCCEEDED:
        count_after_commit(session, PAYMENTS.labels(tx.gateway, "captured"))
    elif tx.kind in (TxKind.CAPTURE, TxKind.AUTHORIZE) and tx.status == TxStatus.FAILED:
        count_after_commit(session, PAYMENTS.labels(tx.gateway, "failed"))
    elif tx.kind == TxKind.REFUND and tx.status == TxStatus.SUCCEEDED:
        count_after_commit(session, REFUNDS.labels(tx.gateway))


payments = PaymentService()
