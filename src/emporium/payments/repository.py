"""Every SQL statement of the payments domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.payments.ledger import Balance, balance_of
from emporium.payments.models import (
    Payment,
    PaymentState,
    PaymentTransaction,
    RefundLine,
    TxKind,
    TxStatus,
    WebhookEvent,
)


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def balance(self, order_id: int) -> Balance:
        result = await self.session.execute(
            select(
                PaymentTransaction.kind,
                PaymentTransaction.status,
                func.sum(PaymentTransaction.amount_minor),
                func.count(),
            )
            .where(PaymentTransaction.order_id == order_id)
            .group_by(PaymentTransaction.kind, PaymentTransaction.status)
        )
        return balance_of([(k, s, int(a or 0), int(c)) for k, s, a, c in result.all()])

    async def refunded_by_line(self, order_id: int) -> dict[int | None, tuple[int, int]]:
        """Units and amount refunded by line of an order (key None: the shipping), from refunds by line."""
        result = await self.session.execute(
            select(RefundLine.order_line_id, func.sum(RefundLine.quantity), func.sum(RefundLine.amount_minor))
            .where(RefundLine.order_id == order_id)
            .group_by(RefundLine.order_line_id)
        )
        return {line_id: (int(units or 0), int(amount or 0)) for line_id, units, amount in result.all()}

    async def refunded_of(self, payment_id: int) -> int:
        """What the ledger holds as refunded (settled or on its way) of one payment."""
        result = await self.session.execute(
            select(func.coalesce(func.sum(PaymentTransaction.amount_minor), 0)).where(
                PaymentTransaction.payment_id == payment_id,
                PaymentTransaction.kind == TxKind.REFUND,
                PaymentTransaction.status.in_((TxStatus.SUCCEEDED, TxStatus.PENDING)),
            )
        )
        return int(result.scalar_one())

    async def payment(self, payment_id: int) -> Payment | None:
        return await self.session.get(Payment, payment_id, populate_existing=True)

    async def payment_by_reference(self, gateway: str, reference: str) -> Payment | None:
        result = await self.session.execute(
            select(Payment).where(Payment.gateway == gateway, Payment.reference == reference)
        )
        return result.scalar_one_or_none()

    async def open_payment(self, order_id: int, gateway: str) -> Payment | None:
        """A payment of the order still waiting for the shopper, to hand out again instead of a second one."""
        result = await self.session.execute(
            select(Payment)
            .where(
                Payment.order_id == order_id,
                Payment.gateway == gateway,
                Payment.state.in_((PaymentState.REQUIRES_ACTION, PaymentState.PROCESSING)),
            )
            .order_by(Payment.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def payments_of(self, order_id: int) -> list[Payment]:
        result = await self.session.execute(
            select(Payment).where(Payment.order_id == order_id).order_by(Payment.id)
        )
        return list(result.scalars())

    async def transactions_of(self, order_id: int) -> list[PaymentTransaction]:
        result = await self.session.execute(
            select(PaymentTransaction)
            .where(PaymentTransaction.order_id == order_id)
            .order_by(PaymentTransaction.id)
        )
        return list(result.scalars())

    async def transaction_by_key(self, order_id: int, key: str) -> PaymentTransaction | None:
        result = await self.session.execute(
            select(PaymentTransaction).where(
                PaymentTransaction.order_id == order_id, PaymentTransaction.idempotency_key == key
            )
        )
        return result.scalar_one_or_none()

    async def refundable_payments(self, order_id: int) -> list[Payment]:
        result = await self.session.execute(
            select(Payment)
            .where(Payment.order_id == order_id, Payment.state == PaymentState.SUCCEEDED)
            .order_by(Payment.id.desc())
        )
        return list(result.scalars())

    async def store_event(
        self, gateway: str, event_id: str, event_type: str, payload: dict[str, object]
    ) -> int | None:
        """Insert the event unless already stored; its id when new, None for a repeat (at any concurrency)."""
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        result = await self.session.execute(
            insert(WebhookEvent)
            .values(gateway=gateway, event_id=event_id, event_type=event_type, payload=payload)
            .on_conflict_do_nothing(index_elements=["gateway", "event_id"])
            .returning(WebhookEvent.id)
        )
        stored = result.scalar_one_or_none()
        return None if stored is None else int(stored)

    # Gateways that are asked rather than told (coins, Lightning) --------------------------------------

    async def watched_payment_ids(
        self,
        gateways: list[str],
        *,
        open_expiring_after: datetime | None = None,
        closed_expiring_after: datetime | None = None,
        order_id: int | None = None,
        limit: int,
    ) -> list[int]:
        """Payments of these gateways to ask the provider about, in id order: the open ones (whose quote or
        invoice expires after ``open_expiring_after``, when given), and closed ones that expired after
        ``closed_expiring_after`` (late money may still land on them)."""
        open_states = (PaymentState.REQUIRES_ACTION, PaymentState.PROCESSING)
        still_open: ColumnElement[bool] = Payment.state.in_(open_states)
        if open_expiring_after is not None:
            still_open &= or_(Payment.expires_at.is_(None), Payment.expires_at > open_expiring_after)
        watched = still_open
        if closed_expiring_after is not None:
            closed = Payment.state.in_((PaymentState.FAILED, PaymentState.CANCELED))
            watched = or_(still_open, closed & (Payment.expires_at >= closed_expiring_after))
        query = select(Payment.id).where(Payment.gateway.in_(gateways), watched)
        if order_id is not None:
            query = query.where(Payment.order_id == order_id)
        result = await self.session.execute(query.order_by(Payment.id).limit(limit))
        return [int(payment_id) for payment_id in result.scalars()]

    async def other_payment_succeeded(self, payment: Payment) -> bool:
        """Whether the order of ``payment`` was already paid by another of its payments."""
        result = await self.session.execute(
            select(Payment.id)
            .where(
                Payment.order_id == payment.order_id,
                Payment.id != payment.id,
                Payment.state == PaymentState.SUCCEEDED,
            )
            .limit(1)
        )
        return result.scalar_one_or_none() is not None

    async def refund_reference_used_elsewhere(
        self, gateways: list[str], reference: str, order_id: int
    ) -> bool:
        """Whether a refund with this gateway reference (a transaction id) belongs to another order."""
        result = await self.session.execute(
            select(PaymentTransaction.order_id)
            .join(Payment, Payment.id == PaymentTransaction.payment_id)
            .where(
                PaymentTransaction.kind == TxKind.REFUND,
                PaymentTransaction.gateway_reference == reference,
                Payment.gateway.in_(gateways),
                PaymentTransaction.order_id != order_id,
            )
            .limit(1)
        )
        return result.scalar_one_or_none() is not None

    async def payment_count(self, order_id: int) -> int:
        result = await self.session.execute(
            select(func.count(Payment.id)).where(Payment.order_id == order_id)
        )
        return int(result.scalar_one())
