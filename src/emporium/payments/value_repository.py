"""The SQL behind a customer's lifetime value: what the ledger kept of all their orders."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.orders.models import Order
from emporium.payments.models import PaymentTransaction, TxKind, TxStatus


class ValueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def captured_less_refunded(self, user_id: int) -> dict[str, int]:
        """Per currency: settled captures less settled refunds over the customer's orders (one statement)."""
        signed = case(
            (PaymentTransaction.kind == TxKind.CAPTURE, PaymentTransaction.amount_minor),
            (PaymentTransaction.kind == TxKind.REFUND, -PaymentTransaction.amount_minor),
            else_=0,
        )
        result = await self.session.execute(
            select(PaymentTransaction.currency, func.coalesce(func.sum(signed), 0))
            .join(Order, Order.id == PaymentTransaction.order_id)
            .where(Order.user_id == user_id, PaymentTransaction.status == TxStatus.SUCCEEDED)
            .group_by(PaymentTransaction.currency)
            .order_by(PaymentTransaction.currency)
        )
        return {str(currency): int(amount) for currency, amount in result.all()}
