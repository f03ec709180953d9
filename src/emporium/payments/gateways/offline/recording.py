"""Money that reaches the shop outside any gateway, recorded by staff: a bank transfer seen on the shop's
account, and cash handed over with a parcel (seed 003). Both become ledger rows like a gateway's capture."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.errors import ValidationFailed
from emporium.core.jobs import enqueue
from emporium.orders.lifecycle import lifecycle
from emporium.orders.models import Order, PaymentStatus
from emporium.payments.errors import PaymentError
from emporium.payments.gateways.offline.gateway import BANK_TRANSFER, CASH_ON_DELIVERY
from emporium.payments.models import TxKind, TxStatus
from emporium.payments.service import AUTO_REFUND_JOB, PaymentNotPossible, payments


class StaffRecordedMoney:
    async def record_bank_transfer(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        *,
        amount_minor: int,
        reference: str,
        actor_user_id: int,
    ) -> None:
        if order.payment_method != BANK_TRANSFER:
            raise PaymentNotPossible("This order is not paid by bank transfer.")
        if order.payment_status != PaymentStatus.PENDING_VERIFICATION:
            raise PaymentNotPossible(
                f"This order's payment is {order.payment_status}, not waiting for a transfer."
            )
        if amount_minor != order.total_minor:
            raise ValidationFailed(
                "The amount received must match the order total; record a partial payment with the bank.",
                code=PaymentError.AMOUNT_MISMATCH,
                details=[{"field": "amount", "message": "must equal the order total"}],
            )
        await payments.record(
            session,
            order,
            None,
            TxKind.CAPTURE,
            TxStatus.SUCCEEDED,
            amount_minor,
            key=f"transfer:{reference}",
            raw={"bank_reference": reference},
            gateway=BANK_TRANSFER,
            reference=reference,
            actor_user_id=actor_user_id,
        )
        await payments.refresh_status(session, order)
        if not await lifecycle.confirm_payment(session, settings, order, actor_user_id=actor_user_id):
            enqueue(session, AUTO_REFUND_JOB, {"order_id": order.id})

    async def record_cash_on_delivery(
        self, session: AsyncSession, settings: Settings, order: Order, actor_user_id: int | None
    ) -> None:
        """Seed 003: cash on delivery is paid when the parcel is handed over."""
        await payments.record(
            session,
            order,
            None,
            TxKind.CAPTURE,
            TxStatus.SUCCEEDED,
            order.total_minor,
            key="cash-on-delivery",
            raw={},
            gateway=CASH_ON_DELIVERY,
            reference=order.number,
            actor_user_id=actor_user_id,
        )
        await payments.refresh_status(session, order)


staff_money = StaffRecordedMoney()
