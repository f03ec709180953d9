"""Every SQL statement of the test gateway: its simulated provider's own sessions."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.payments.models import PaymentState, TestGatewaySession


class TestGatewayRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_reference(self, reference: str) -> TestGatewaySession | None:
        """The session as the database holds it now (read again when this session already has it)."""
        return await self.session.get(TestGatewaySession, reference, populate_existing=True)

    async def by_client_secret(self, client_secret: str) -> TestGatewaySession | None:
        result = await self.session.execute(
            select(TestGatewaySession).where(TestGatewaySession.client_secret == client_secret)
        )
        return result.scalar_one_or_none()

    async def refund(self, reference: str, amount_minor: int) -> int | None:
        """Refund ``amount_minor`` of a succeeded payment in one conditional UPDATE, like a provider that
        never refunds more than it charged: the refunded total after it, or None when refused."""
        result = await self.session.execute(
            update(TestGatewaySession)
            .where(
                TestGatewaySession.reference == reference,
                TestGatewaySession.state == PaymentState.SUCCEEDED,
                TestGatewaySession.amount_minor - TestGatewaySession.refunded_minor >= amount_minor,
            )
            .values(refunded_minor=TestGatewaySession.refunded_minor + amount_minor)
            .returning(TestGatewaySession.refunded_minor)
            .execution_options(synchronize_session=False)
        )
        refunded = result.scalar_one_or_none()
        return None if refunded is None else int(refunded)
