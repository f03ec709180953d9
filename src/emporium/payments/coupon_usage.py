"""What a coupon brought in, for the back office's coupon page: the orders that redeemed it and their
revenue net of refunds.

An order counts while it holds the coupon's redemption (an order cancelled before it was paid gives its
use back, and its redemption goes). Revenue is what those orders cost their customers (their totals: goods
after the discount, shipping and tax); refunds are the settled refunds of the payment ledger on them; net
is the difference. Amounts are per currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.keyset import KeysetPage, decode_cursor, encode_cursor
from emporium.core.money import from_minor
from emporium.payments.coupon_repository import CouponUsageRepository

if TYPE_CHECKING:
    from emporium.orders.models import Order


@dataclass(frozen=True)
class CouponRevenue:
    currency: str
    orders: int
    revenue: Decimal
    discount: Decimal
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return self.revenue - self.refunded


@dataclass(frozen=True)
class CouponOrder:
    order: Order
    total: Decimal
    discount: Decimal
    refunded: Decimal


class CouponUsage:
    async def revenue(self, session: AsyncSession, coupon_id: int) -> list[CouponRevenue]:
        rows = await CouponUsageRepository(session).totals(coupon_id)
        return [
            CouponRevenue(
                currency=currency,
                orders=int(count),
                revenue=from_minor(int(total), currency),
                discount=from_minor(int(discount), currency),
                refunded=from_minor(int(refunded), currency),
            )
            for currency, count, total, discount, refunded in rows
        ]

    async def orders(
        self, session: AsyncSession, coupon_id: int, *, before: str | None, limit: int
    ) -> KeysetPage[CouponOrder]:
        cursor = decode_cursor(before, field="before")
        rows = await CouponUsageRepository(session).orders(
            coupon_id, before_id=None if cursor is None else cursor.id, limit=limit
        )
        shown = [
            CouponOrder(
                order,
                from_minor(order.total_minor, order.currency),
                from_minor(int(discount), order.currency),
                from_minor(int(refunded), order.currency),
            )
            for order, discount, refunded in rows[:limit]
        ]
        more = len(rows) > limit
        return KeysetPage(rows=shown, next_cursor=encode_cursor(None, shown[-1].order.id) if more else None)


coupon_usage = CouponUsage()
