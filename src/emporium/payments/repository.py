"""Every SQL statement of the payments domain."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.payments.ledger import Balance, balance_of
from emporium.payments.models import (
    Payment,
    PaymentState,
    PaymentTransaction,
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
