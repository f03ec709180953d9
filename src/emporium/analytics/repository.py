"""The figures' SQL: sales and refunds by window and by bucket, customers, carts, and the task counts.

Reads the orders, order lines, payment ledger, carts, users and jobs tables, never writes. Which orders are
sales and which refunds count is stated in the package's docstring (``emporium.analytics``); ``SALE`` is
that rule as SQL. A timestamp's bucket (local hour, day, week or month in the shop's time zone) is computed
per row from its epoch and the zone's offset pieces (``periods.py``), so each figure is one statement
whatever the length of the range, on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from emporium.analytics.periods import (
    DAY_SECONDS,
    HOUR_SECONDS,
    Granularity,
    OffsetPiece,
    Window,
    month_key,
    month_starts,
)
from emporium.cart.models import Cart, CartItem
from emporium.core.jobs.models import Job, JobStatus
from emporium.orders.models import Order, OrderStatus, PaymentStatus
from emporium.payments.models import PaymentTransaction, TxKind, TxStatus

BANK_TRANSFER = "bank_transfer"
CASH_ON_DELIVERY = "cash_on_delivery"


def _constant(value: str) -> ColumnElement[str]:
    """A string written into the statement, not bound: PostgreSQL then sees that a condition matches the
    predicate of a partial index (``orders.SOLD``, ``payments.REFUNDED``) even under a generic plan."""
    return literal_column("'" + value.replace("'", "''") + "'")


def sale(order: Any = Order) -> ColumnElement[bool]:
    """An order that sold: invoiced (confirmed, or its payment captured) and not cancelled (the predicate
    of ``ix_orders_sold_created_at``)."""
    return and_(order.invoice_number.is_not(None), order.status != _constant(OrderStatus.CANCELLED))


SALE = sale()
REFUND = and_(
    PaymentTransaction.kind == _constant(TxKind.REFUND),
    PaymentTransaction.status == _constant(TxStatus.SUCCEEDED),
)


class epoch_seconds(FunctionElement[int]):
    """Whole seconds from 1970-01-01 UTC to a stored timestamp."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(floor(extract(epoch FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC timestamps as text without an offset; strftime('%s') reads them as UTC.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@dataclass(frozen=True)
class Bucketing:
    """How rows are put in buckets: the granularity, the zone's offsets over the window, and for months
    the range's first and last local dates."""

    granularity: Granularity
    pieces: Sequence[OffsetPiece]
    first: date
    last: date

    def of(self, column: Any) -> ColumnElement[int]:
        """The bucket key of a timestamp column, as ``periods.bucket_key`` computes it."""
        if len(self.pieces) == 1:
            offset: ColumnElement[int] | int = self.pieces[0].seconds
        else:
            offset = case(
                *[(column < piece.until, piece.seconds) for piece in self.pieces[:-1]],
                else_=self.pieces[-1].seconds,
            )
        local = epoch_seconds(column) + offset
        if self.granularity is Granularity.HOUR:
            return local // HOUR_SECONDS
        day = local // DAY_SECONDS
        if self.granularity is Granularity.DAY:
            return day
        if self.granularity is Granularity.WEEK:
            return (day + 3) // 7
        starts = month_starts(self.first, self.last)
        if not starts:
            return literal(month_key(self.first), BigInteger)
        keys = [month_key(self.first), *(key for _, key in starts)]
        return case(
            *[(day < start, keys[i]) for i, (start, _) in enumerate(starts)],
            else_=keys[-1],
        )


def within(column: Any, window: Window) -> ColumnElement[bool]:
    return and_(column >= window.start, column < window.end)


def customer_key(order: Any = Order) -> ColumnElement[str]:
    """Who bought: the account, or for a guest order the e-mail it was placed with (stored lower-case)."""
    return case(
        (order.user_id.is_not(None), literal("u:") + cast(order.user_id, String)),
        else_=literal("e:") + order.contact_email,
    )


@dataclass(frozen=True)
class SalesCell:
    """Sales placed and refunds made in one bucket of one window."""

    window: int
    key: int
    orders: int = 0
    gross_minor: int = 0
    refunds: int = 0
    refunded_minor: int = 0


def _which(column: Any, windows: Sequence[Window]) -> ColumnElement[int]:
    return case(*[(within(column, window), i) for i, window in enumerate(windows)], else_=-1)


def _of_a_sale(order_id: Any) -> ColumnElement[bool]:
    """The order a ledger row belongs to is a sale: one look-up of that order by its key per row. A join
    would let PostgreSQL hash every sale of the shop to match a few hundred refunds."""
    return select(func.count()).select_from(Order).where(Order.id == order_id, SALE).scalar_subquery() == 1


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sales(self, windows: Sequence[Window], bucketing: Bucketing | None = None) -> list[SalesCell]:
        """Sales (dated when placed) and refunds of sales (dated when made) per window (disjoint) and,
        with ``bucketing``, per bucket, in one statement; cells with neither are absent."""

        def key(column: Any) -> ColumnElement[int]:
            return bucketing.of(column) if bucketing is not None else literal(0, BigInteger)

        placed = (
            select(
                _which(Order.created_at, windows).label("which"),
                key(Order.created_at).label("key"),
                Order.total_minor.label("amount"),
            )
            .where(SALE, or_(*[within(Order.created_at, w) for w in windows]))
            .subquery()
        )
        tx = PaymentTransaction
        refunded = (
            select(
                _which(tx.created_at, windows).label("which"),
                key(tx.created_at).label("key"),
                tx.amount_minor.label("amount"),
            )
            .where(REFUND, or_(*[within(tx.created_at, w) for w in windows]), _of_a_sale(tx.order_id))
            .subquery()
        )
        statement = union_all(
            *(
                select(
                    rows.c.which, rows.c.key, literal(kind), func.count(), func.sum(rows.c.amount)
                ).group_by(rows.c.which, rows.c.key)
                for kind, rows in ((0, placed), (1, refunded))
            )
        )
        cells: dict[tuple[int, int], list[int]] = {}
        for which, bucket, kind, count, amount in (await self.session.execute(statement)).all():
            cell = cells.setdefault((int(which), int(bucket)), [0, 0, 0, 0])
            cell[2 * int(kind)] += int(count)
            cell[2 * int(kind) + 1] += int(amount or 0)
        return [SalesCell(which, bucket, *values) for (which, bucket), values in sorted(cells.items())]

    async def new_customers(self, windows: Sequence[Window]) -> list[int]:
        """Per window (disjoint): buyers whose first sale was placed in it, in one statement that looks up
        each buyer's first sale once per order."""
        rows = (
            select(
                _which(Order.created_at, windows).label("which"),
                customer_key().label("who"),
                first_sale_at().label("first_at"),
            )
            .where(SALE, or_(*[within(Order.created_at, w) for w in windows]))
            .offset(0)
            .subquery()
        )
        new_in = [and_(rows.c.which == i, rows.c.first_at >= w.start) for i, w in enumerate(windows)]
        statement = select(*[func.count(func.distinct(case((new, rows.c.who)))) for new in new_in])
        return [int(count) for count in (await self.session.execute(statement)).one()]

    async def carts(self, windows: Sequence[Window], idle_before: datetime) -> list[tuple[int, int]]:
        """Per window: (carts created in it, carts abandoned in it). Abandoned: still holding items, last
        changed in the window and not since ``idle_before``."""
        holding = exists().where(CartItem.cart_id == Cart.id)
        columns: list[ColumnElement[Any]] = []
        for window in windows:
            columns.append(func.sum(case((within(Cart.created_at, window), 1), else_=0)))
            abandoned = and_(within(Cart.updated_at, window), Cart.updated_at < idle_before, holding)
            columns.append(func.sum(case((abandoned, 1), else_=0)))
        earliest = min(w.start for w in windows)
        row = (
            await self.session.execute(
                select(*columns).where(or_(Cart.created_at >= earliest, Cart.updated_at >= earliest))
            )
        ).one()
        values = [int(v or 0) for v in row]
        return [(values[2 * i], values[2 * i + 1]) for i in range(len(windows))]

    async def orders_by_status(self, window: Window) -> list[tuple[str, int]]:
        """Every order placed in the window (sold or not) by its status now."""
        result = await self.session.execute(
            select(Order.status, func.count())
            .where(within(Order.created_at, window))
            .group_by(Order.status)
            .order_by(Order.status)
        )
        return [(str(status), int(count)) for status, count in result.all()]

    async def task_counts(self) -> tuple[int, int, int, int, int]:
        """(confirmed orders to fulfil, orders being prepared, bank transfers to verify, cash-on-delivery
        orders to confirm, dead jobs)."""

        def orders_where(*conditions: ColumnElement[bool]) -> Any:
            return select(func.count()).select_from(Order).where(*conditions).scalar_subquery()

        pending = Order.status == OrderStatus.PENDING
        statement = select(
            orders_where(Order.status == OrderStatus.CONFIRMED),
            orders_where(Order.status == OrderStatus.PROCESSING),
            orders_where(
                pending,
                Order.payment_method == BANK_TRANSFER,
                Order.payment_status == PaymentStatus.PENDING_VERIFICATION,
            ),
            orders_where(pending, Order.payment_method == CASH_ON_DELIVERY),
            select(func.count()).select_from(Job).where(Job.status == JobStatus.DEAD).scalar_subquery(),
        )
        fulfil, processing, transfers, cash, dead = (await self.session.execute(statement)).one()
        return int(fulfil), int(processing), int(transfers), int(cash), int(dead)


def first_sale_at() -> ColumnElement[datetime]:
    """When the buyer of the order in hand placed their first sale: a correlated look-up, per order, of the
    first entry of a partial index of the sold orders (``ix_orders_sold_user_id``, or for a guest
    ``ix_orders_sold_guest_email``), which PostgreSQL answers from the index alone. Written as a look-up
    rather than an anti-join, which PostgreSQL planned as a hash of every earlier sale of the shop."""
    earlier = Order.__table__.alias("earlier")
    of_account = (
        select(func.min(earlier.c.created_at))
        .where(earlier.c.user_id == Order.user_id, sale(earlier.c))
        .scalar_subquery()
    )
    of_guest = (
        select(func.min(earlier.c.created_at))
        .where(earlier.c.contact_email == Order.contact_email, earlier.c.user_id.is_(None), sale(earlier.c))
        .scalar_subquery()
    )
    return case((Order.user_id.is_not(None), of_account), else_=of_guest)
