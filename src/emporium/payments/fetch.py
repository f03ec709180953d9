"""Reading payments and the ledger, for routes, pages and jobs; the moves that change them are in service.py.

Nothing here checks who may see what: the caller has reached the order through payments/auth.py (a route)
or works for the shop (a job).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.payments.ledger import Balance
from emporium.payments.models import Payment, PaymentTransaction
from emporium.payments.repository import PaymentRepository


class PaymentFetch:
    async def payment(self, session: AsyncSession, payment_id: int) -> Payment | None:
        """The payment as the database holds it now (read again when the session already has it)."""
        return await PaymentRepository(session).payment(payment_id)

    async def payment_by_reference(
        self, session: AsyncSession, gateway: str, reference: str
    ) -> Payment | None:
        return await PaymentRepository(session).payment_by_reference(gateway, reference)

    async def payments_of(self, session: AsyncSession, order_id: int) -> list[Payment]:
        """The order's payments, oldest first."""
        return await PaymentRepository(session).payments_of(order_id)

    async def last_payment(self, session: AsyncSession, order_id: int) -> Payment | None:
        return next(iter(reversed(await self.payments_of(session, order_id))), None)

    async def transactions_of(self, session: AsyncSession, order_id: int) -> list[PaymentTransaction]:
        """The order's ledger, oldest first."""
        return await PaymentRepository(session).transactions_of(order_id)

    async def balance(self, session: AsyncSession, order_id: int) -> Balance:
        return await PaymentRepository(session).balance(order_id)

    async def refundable_payments(self, session: AsyncSession, order_id: int) -> list[Payment]:
        """The order's succeeded payments, newest first: the first is the one a refund goes back through."""
        return await PaymentRepository(session).refundable_payments(order_id)

    async def refund_reference_used_elsewhere(
        self, session: AsyncSession, gateways: list[str], reference: str, order_id: int
    ) -> bool:
        """Whether a refund with this gateway reference (a transaction id) belongs to another order."""
        return await PaymentRepository(session).refund_reference_used_elsewhere(gateways, reference, order_id)

    async def watched_payment_ids(
        self,
        session: AsyncSession,
        gateways: list[str],
        *,
        open_expiring_after: datetime | None = None,
        closed_expiring_after: datetime | None = None,
        order_id: int | None = None,
        limit: int,
    ) -> list[int]:
        """Payments of gateways that are asked rather than told (coins, Lightning) to ask about now
        (``PaymentRepository.watched_payment_ids``)."""
        return await PaymentRepository(session).watched_payment_ids(
            gateways,
            open_expiring_after=open_expiring_after,
            closed_expiring_after=closed_expiring_after,
            order_id=order_id,
            limit=limit,
        )


fetch = PaymentFetch()
