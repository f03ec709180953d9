"""The reports' SQL beyond what the home page shares: sales by category, payment method and coupon, and
customers (first-time and returning buyers, sign-ups) by bucket. One statement per report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Subquery, and_, case, func, literal, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import User
from emporium.analytics.periods import Window
from emporium.analytics.repository import REFUND, SALE, Bucketing, customer_key, first_sale_at, within
from emporium.catalog.models import Category, Product
from emporium.core.permissions import Role
from emporium.orders.models import Order, OrderLine
from emporium.payments.models import PaymentTransaction

# Windows up to this long look things up sale by sale (their lines on PostgreSQL, their buyers' first sales);
# longer ones read in one pass (``_sold_lines``, ``_sales_with_first_sale``).
PROBE_LINES_UP_TO = timedelta(days=62)


@dataclass(frozen=True)
class ProductSales:
    product_id: int
    name: str
    orders: int
    units: int
    sales_minor: int


@dataclass(frozen=True)
class GroupSales:
    """Sales of one group (a category, a payment method, a coupon)."""

    name: str | None
    orders: int
    units: int = 0
    gross_minor: int = 0
    discount_minor: int = 0
    refunded_minor: int = 0


@dataclass(frozen=True)
class BucketCustomers:
    key: int
    new: int = 0
    returning: int = 0
    new_orders: int = 0
    returning_orders: int = 0
    sign_ups: int = 0


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _sold_lines(self, window: Window) -> Subquery:
        """The lines (order, product, quantity, line total) of the sales placed in the window. Over a few
        weeks PostgreSQL is made to fetch each sale's lines by its index (a LATERAL it cannot flatten):
        left to itself it reads every line of the shop to hash-join a month's worth. Over longer windows,
        and on SQLite, a plain join is the better plan."""
        columns = (OrderLine.order_id, OrderLine.product_id, OrderLine.quantity, OrderLine.total_minor)
        if (
            self.session.get_bind().dialect.name != "postgresql"
            or window.end - window.start > PROBE_LINES_UP_TO
        ):
            return (
                select(*columns)
                .join(Order, Order.id == OrderLine.order_id)
                .where(SALE, within(Order.created_at, window))
                .subquery()
            )
        lines = select(*columns).where(OrderLine.order_id == Order.id).offset(0).lateral("sale_lines")
        return (
            select(lines.c.order_id, lines.c.product_id, lines.c.quantity, lines.c.total_minor)
            .select_from(Order)
            .join(lines, true())
            .where(SALE, within(Order.created_at, window))
            .subquery()
        )

    async def products(self, window: Window, limit: int) -> list[ProductSales]:
        """Products sold in the window: orders, units and line totals, best sellers first."""
        lines = self._sold_lines(window)
        per_product = (
            select(
                lines.c.product_id,
                func.count(func.distinct(lines.c.order_id)).label("orders"),
                func.sum(lines.c.quantity).label("units"),
                func.sum(lines.c.total_minor).label("sales"),
            )
            .group_by(lines.c.product_id)
            .subquery()
        )
        result = await self.session.execute(
            select(Product.id, Product.name, per_product.c.orders, per_product.c.units, per_product.c.sales)
            .join(per_product, per_product.c.product_id == Product.id)
            .order_by(per_product.c.sales.desc(), Product.id)
            .limit(limit)
        )
        return [ProductSales(int(i), str(n), int(o), int(u), int(s)) for i, n, o, u, s in result.all()]

    async def categories(self, window: Window) -> list[GroupSales]:
        """Line totals by the category the products are in now (None: products without one)."""
        lines = self._sold_lines(window)
        sales = func.sum(lines.c.total_minor)
        result = await self.session.execute(
            select(
                Category.name, func.count(func.distinct(lines.c.order_id)), func.sum(lines.c.quantity), sales
            )
            .select_from(lines)
            .join(Product, Product.id == lines.c.product_id)
            .outerjoin(Category, Category.id == Product.category_id)
            .group_by(Category.id, Category.name)
            .order_by(sales.desc(), Category.name)
        )
        return [
            GroupSales(None if n is None else str(n), int(o), int(u), int(s)) for n, o, u, s in result.all()
        ]

    async def payment_methods(self, window: Window) -> list[GroupSales]:
        """Sales placed and refunds made in the window, by the orders' payment method, in one statement."""
        placed = select(
            Order.payment_method.label("name"),
            literal(0).label("kind"),
            func.count().label("count"),
            func.sum(Order.total_minor).label("amount"),
        ).where(SALE, within(Order.created_at, window))
        # The refunded order's method, looked up per refund by the order's key (None: not a sale).
        method = (
            select(Order.payment_method)
            .where(Order.id == PaymentTransaction.order_id, SALE)
            .scalar_subquery()
        )
        refunds = (
            select(method.label("name"), PaymentTransaction.amount_minor.label("amount"))
            .where(REFUND, within(PaymentTransaction.created_at, window))
            .offset(0)
            .subquery()
        )
        refunded = (
            select(refunds.c.name, literal(1), func.count(), func.sum(refunds.c.amount))
            .where(refunds.c.name.is_not(None))
            .group_by(refunds.c.name)
        )
        statement = union_all(placed.group_by(Order.payment_method), refunded)
        merged: dict[str, list[int]] = {}
        for name, kind, count, amount in (await self.session.execute(statement)).all():
            row = merged.setdefault(str(name), [0, 0, 0])
            if int(kind) == 0:
                row[0], row[1] = int(count), int(amount or 0)
            else:
                row[2] = int(amount or 0)
        return [
            GroupSales(name, orders=o, gross_minor=g, refunded_minor=r)
            for name, (o, g, r) in sorted(merged.items(), key=lambda item: (-item[1][1], item[0]))
        ]

    async def coupons(self, window: Window, limit: int) -> list[GroupSales]:
        """Sales placed in the window with a coupon, by code: orders, discount given and order totals."""
        gross = func.sum(Order.total_minor)
        result = await self.session.execute(
            select(Order.coupon_code, func.count(), func.sum(Order.discount_minor), gross)
            .where(SALE, within(Order.created_at, window), Order.coupon_code.is_not(None))
            .group_by(Order.coupon_code)
            .order_by(gross.desc(), Order.coupon_code)
            .limit(limit)
        )
        return [
            GroupSales(str(code), int(o), gross_minor=int(g), discount_minor=int(d))
            for code, o, d, g in result.all()
        ]

    async def customers(self, window: Window, bucketing: Bucketing) -> list[BucketCustomers]:
        """Per bucket: buyers whose first sale falls in it and buyers who had bought before it, with their
        orders (one statement), and sign-ups (one more)."""
        rows = self._sales_with_first_sale(window, bucketing)
        is_new = and_(rows.c.first_at >= window.start, bucketing.of(rows.c.first_at) == rows.c.key)
        marked = select(rows.c.key, rows.c.who, case((is_new, 1), else_=0).label("new")).subquery()
        statement = select(
            marked.c.key,
            func.count(func.distinct(case((marked.c.new == 1, marked.c.who)))),
            func.count(func.distinct(case((marked.c.new == 0, marked.c.who)))),
            func.sum(marked.c.new),
            func.count() - func.sum(marked.c.new),
        ).group_by(marked.c.key)
        found = {
            int(key): BucketCustomers(int(key), int(n), int(r), int(no), int(ro))
            for key, n, r, no, ro in (await self.session.execute(statement)).all()
        }
        for key, sign_ups in await self._sign_ups(window, bucketing):
            known = found.get(key, BucketCustomers(key))
            found[key] = BucketCustomers(
                key, known.new, known.returning, known.new_orders, known.returning_orders, sign_ups
            )
        return [found[key] for key in sorted(found)]

    def _sales_with_first_sale(self, window: Window, bucketing: Bucketing) -> Subquery:
        """Each sale of the window: its bucket, its buyer and when that buyer's first sale was placed. Over
        a few weeks the first sale is looked up per sale through an index (the account's orders, or the
        guest e-mail's); over longer windows, where that is one look-up per order of the shop, the first
        sale of every buyer is found in one pass instead."""
        if window.end - window.start <= PROBE_LINES_UP_TO:
            # OFFSET 0 keeps the look-up evaluated once per row (PostgreSQL would otherwise inline it).
            return (
                select(
                    bucketing.of(Order.created_at).label("key"),
                    customer_key().label("who"),
                    first_sale_at().label("first_at"),
                )
                .where(SALE, within(Order.created_at, window))
                .offset(0)
                .subquery()
            )
        buyers = (
            select(customer_key().label("who"), Order.created_at)
            .where(SALE, Order.created_at < window.end)
            .subquery()
        )
        firsts = (
            select(buyers.c.who, func.min(buyers.c.created_at).label("first_at"))
            .group_by(buyers.c.who)
            .subquery()
        )
        sales = (
            select(bucketing.of(Order.created_at).label("key"), customer_key().label("who"))
            .where(SALE, within(Order.created_at, window))
            .subquery()
        )
        return (
            select(sales.c.key, sales.c.who, firsts.c.first_at)
            .join(firsts, firsts.c.who == sales.c.who)
            .subquery()
        )

    async def _sign_ups(self, window: Window, bucketing: Bucketing) -> list[tuple[int, int]]:
        rows = (
            select(bucketing.of(User.created_at).label("key"))
            .where(User.role == Role.CUSTOMER, within(User.created_at, window))
            .subquery()
        )
        result = await self.session.execute(select(rows.c.key, func.count()).group_by(rows.c.key))
        return [(int(key), int(count)) for key, count in result.all()]
