"""The SQL behind a coupon's usage: the orders that redeemed it and what they brought in, less refunds."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Subquery

from emporium.orders.models import Order
from emporium.payments.models import PaymentTransaction, TxKind, TxStatus
from emporium.pricing.models import CouponRedemption


def _refunds(coupon_id: int) -> Subquery:
    """Settled refunds per order, over the orders that redeemed the coupon."""
    return (
        select(
            PaymentTransaction.order_id.label("order_id"),
            func.sum(PaymentTransaction.amount_minor).label("refunded"),
        )
        .join(CouponRedemption, CouponRedemption.order_id == PaymentTransaction.order_id)
        .where(
            CouponRedemption.coupon_id == coupon_id,
            PaymentTransaction.kind == TxKind.REFUND,
            PaymentTransaction.status == TxStatus.SUCCEEDED,
        )
        .group_by(PaymentTransaction.order_id)
        .subquery()
    )


class CouponUsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def totals(self, coupon_id: int) -> Sequence[Row[str, int, int, int, int]]:
        """Per currency: ``(currency, orders, order totals, discounts given, refunded)``: one statement."""
        refunds = _refunds(coupon_id)
        result = await self.session.execute(
            select(
                Order.currency,
                func.count(Order.id),
                func.coalesce(func.sum(Order.total_minor), 0),
                func.coalesce(func.sum(CouponRedemption.discount_minor), 0),
                func.coalesce(func.sum(refunds.c.refunded), 0),
            )
            .join(CouponRedemption, CouponRedemption.order_id == Order.id)
            .outerjoin(refunds, refunds.c.order_id == Order.id)
            .where(CouponRedemption.coupon_id == coupon_id)
            .group_by(Order.currency)
            .order_by(Order.currency)
        )
        return result.all()

    async def orders(
        self, coupon_id: int, *, before_id: int | None, limit: int
    ) -> Sequence[Row[Order, int, int]]:
        """``(order, discount, refunded)`` of the orders that redeemed the coupon, newest first, ``limit + 1``
        older than ``before_id``: one statement."""
        refunds = _refunds(coupon_id)
        statement = (
            select(Order, CouponRedemption.discount_minor, func.coalesce(refunds.c.refunded, 0))
            .join(CouponRedemption, CouponRedemption.order_id == Order.id)
            .outerjoin(refunds, refunds.c.order_id == Order.id)
            .where(CouponRedemption.coupon_id == coupon_id)
        )
        if before_id is not None:
            statement = statement.where(Order.id < before_id)
        result = await self.session.execute(statement.order_by(Order.id.desc()).limit(limit + 1))
        return list(result.all())
