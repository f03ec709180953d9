"""A customer's lifetime value, for the back office's customer page: money the shop kept from them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.money import from_minor
from emporium.payments.value_repository import ValueRepository


@dataclass(frozen=True)
class Amount:
    amount: Decimal
    currency: str


class CustomerValue:
    async def lifetime(self, session: AsyncSession, user_id: int) -> list[Amount]:
        """Captured payments less refunds over every order of the customer, one amount per currency
        (empty when they never paid). Pending and failed transactions do not count."""
        sums = await ValueRepository(session).captured_less_refunded(user_id)
        return [Amount(from_minor(minor, currency), currency) for currency, minor in sums.items()]


customer_value = CustomerValue()
