"""The figures of the home page and the reports, assembled from a constant number of statements: what
each figure means is in the package's docstring, the calendar in ``periods.py``, the SQL in the
repositories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.analytics import schemas
from emporium.analytics.errors import AnalyticsError
from emporium.analytics.periods import (
    Bucket,
    Granularity,
    Period,
    Window,
    bucket_key,
    buckets,
    compare,
    dates_window,
    offset_pieces,
    previous_dates,
    shop_zone,
)
from emporium.analytics.report_repository import ReportRepository
from emporium.analytics.repository import AnalyticsRepository, Bucketing, SalesCell
from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.errors import ValidationFailed
from emporium.core.money import from_minor
from emporium.inventory.service import inventory

# A cart still holding items this long after its last change is abandoned.
ABANDONED_AFTER = timedelta(hours=1)
# The longest range a report covers: five years of days is at most 1,827 rows.
MAX_RANGE_DAYS = 5 * 366
# Dates a report may name: timestamps are counted in seconds from 1970 (periods.py).
EARLIEST_DATE = date(1971, 1, 1)
LATEST_DATE = date(2999, 12, 31)
HOME_TOP_PRODUCTS = 5
# Product and coupon reports list the best this many (the table and its CSV alike).
REPORT_ROWS = 500

_PERCENT = Decimal("0.1")
_RATE = Decimal("0.01")


@dataclass(frozen=True)
class WindowSales:
    """What a window sold: sales placed, their totals, and the refunds made in it."""

    orders: int = 0
    gross_minor: int = 0
    refunded_minor: int = 0


def check_range(first: date, last: date) -> None:
    """Refuses (422) a range that ends before it begins, is too long, or lies outside the datable years."""
    problem = None
    if not (EARLIEST_DATE <= first <= LATEST_DATE and EARLIEST_DATE <= last <= LATEST_DATE):
        problem = ("from", f"Dates must lie between {EARLIEST_DATE} and {LATEST_DATE}.")
    elif last < first:
        problem = ("to", "The end date must not be before the start date.")
    elif (last - first).days + 1 > MAX_RANGE_DAYS:
        problem = ("to", f"A report covers at most {MAX_RANGE_DAYS} days; choose a shorter range.")
    if problem is not None:
        field, message = problem
        raise ValidationFailed(
            message, code=AnalyticsError.INVALID_DATE_RANGE, details=[{"field": field, "message": message}]
        )


def change_percent(current: int, previous: int) -> Decimal | None:
    if previous == 0:
        return None
    return (Decimal(current - previous) * 100 / abs(previous)).quantize(_PERCENT, ROUND_HALF_EVEN)


def average(total_minor: int, count: int) -> int | None:
    if count == 0:
        return None
    return int((Decimal(total_minor) / count).quantize(Decimal(1), ROUND_HALF_EVEN))


def rate_percent(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) * 100 / whole).quantize(_RATE, ROUND_HALF_EVEN)


class _Money:
    def __init__(self, currency: str) -> None:
        self.currency = currency

    def __call__(self, minor: int) -> Decimal:
        return from_minor(minor, self.currency)

    def figure(self, current: int, previous: int) -> schemas.AmountFigure:
        return schemas.AmountFigure(
            current=self(current), previous=self(previous), change_percent=change_percent(current, previous)
        )

    def optional(self, current: int | None, previous: int | None) -> schemas.OptionalAmountFigure:
        change = change_percent(current, previous) if current is not None and previous is not None else None
        return schemas.OptionalAmountFigure(
            current=None if current is None else self(current),
            previous=None if previous is None else self(previous),
            change_percent=change,
        )


def _count(current: int, previous: int) -> schemas.CountFigure:
    return schemas.CountFigure(
        current=current, previous=previous, change_percent=change_percent(current, previous)
    )


class AnalyticsService:
    async def home(
        self, session: AsyncSession, settings: Settings, period: Period, *, now: datetime | None = None
    ) -> schemas.HomeStats:
        """The home page's figures for ``period`` against the same stretch just before it, its sales
        over time, its orders by status and best sellers, and the tasks waiting now."""
        now = now or utcnow()
        zone, money = shop_zone(settings), _Money(settings.currency)
        seen = compare(period, zone, now)
        windows = [seen.current, seen.previous]
        span = Window(seen.previous.start, seen.current.end)
        bucketing = Bucketing(seen.granularity, offset_pieces(zone, span), seen.first, seen.last)
        cells = await AnalyticsRepository(session).sales(windows, bucketing)
        figures = await self._figures(session, money, windows, _totals(cells, 2), now)
        current_key = bucket_key(seen.granularity, zone, now)
        shown = [b for b in buckets(seen.granularity, seen.first, seen.last) if b.key <= current_key]
        sales = _rows(money, [c for c in cells if c.window == 0], shown)
        statuses = await AnalyticsRepository(session).orders_by_status(seen.current)
        return schemas.HomeStats(
            period=period,
            time_zone=settings.timezone,
            currency=settings.currency,
            granularity=seen.granularity,
            current=schemas.WindowRead(start=seen.current.start, end=seen.current.end),
            previous=schemas.WindowRead(start=seen.previous.start, end=seen.previous.end),
            figures=figures,
            sales=sales,
            orders_by_status=[schemas.StatusCount(status=s, orders=n) for s, n in statuses],
            top_products=await self.products(session, money, seen.current, HOME_TOP_PRODUCTS),
            tasks=await self.tasks(session),
            as_of=now,
        )

    async def _figures(
        self,
        session: AsyncSession,
        money: _Money,
        windows: Sequence[Window],
        sales: Sequence[WindowSales],
        now: datetime,
    ) -> schemas.Figures:
        """The figures of the first window against the second, from their sales and two statements more
        (new customers, carts)."""
        repo = AnalyticsRepository(session)
        now_sales, then_sales = sales
        now_new, then_new = await repo.new_customers(windows)
        (now_carts, now_abandoned), (then_carts, then_abandoned) = await repo.carts(
            windows, now - ABANDONED_AFTER
        )
        now_rate = rate_percent(now_sales.orders, now_carts)
        then_rate = rate_percent(then_sales.orders, then_carts)
        return schemas.Figures(
            revenue=money.figure(_net(now_sales), _net(then_sales)),
            gross_sales=money.figure(now_sales.gross_minor, then_sales.gross_minor),
            refunds=money.figure(now_sales.refunded_minor, then_sales.refunded_minor),
            orders=_count(now_sales.orders, then_sales.orders),
            average_order_value=money.optional(
                average(now_sales.gross_minor, now_sales.orders),
                average(then_sales.gross_minor, then_sales.orders),
            ),
            new_customers=_count(now_new, then_new),
            carts_created=_count(now_carts, then_carts),
            conversion=schemas.RateFigure(
                current_percent=now_rate,
                previous_percent=then_rate,
                change_points=None if now_rate is None or then_rate is None else now_rate - then_rate,
            ),
            abandoned_carts=_count(now_abandoned, then_abandoned),
        )

    async def tasks(self, session: AsyncSession) -> schemas.Tasks:
        fulfil, processing, transfers, cash, dead = await AnalyticsRepository(session).task_counts()
        return schemas.Tasks(
            orders_to_fulfil=fulfil,
            orders_processing=processing,
            transfers_to_verify=transfers,
            cash_on_delivery_to_confirm=cash,
            low_stock_pools=await inventory.count_low_stock_pools(session),
            dead_jobs=dead,
        )

    async def products(
        self, session: AsyncSession, money: _Money, window: Window, limit: int = REPORT_ROWS
    ) -> list[schemas.ProductRow]:
        rows = await ReportRepository(session).products(window, limit)
        return [
            schemas.ProductRow(
                product_id=r.product_id,
                name=r.name,
                orders=r.orders,
                units=r.units,
                sales=money(r.sales_minor),
            )
            for r in rows
        ]

    # Reports over a date range ----------------------------------------------------------------------------

    async def sales(
        self, session: AsyncSession, settings: Settings, first: date, last: date, granularity: Granularity
    ) -> list[schemas.SalesRow]:
        check_range(first, last)
        zone = shop_zone(settings)
        window = dates_window(zone, first, last)
        bucketing = Bucketing(granularity, offset_pieces(zone, window), first, last)
        cells = await AnalyticsRepository(session).sales([window], bucketing)
        return _rows(_Money(settings.currency), cells, buckets(granularity, first, last))

    async def product_report(
        self, session: AsyncSession, settings: Settings, first: date, last: date
    ) -> list[schemas.ProductRow]:
        check_range(first, last)
        return await self.products(
            session, _Money(settings.currency), dates_window(shop_zone(settings), first, last)
        )

    async def categories(
        self, session: AsyncSession, settings: Settings, first: date, last: date
    ) -> list[schemas.CategoryRow]:
        check_range(first, last)
        money = _Money(settings.currency)
        rows = await ReportRepository(session).categories(dates_window(shop_zone(settings), first, last))
        return [
            schemas.CategoryRow(category=r.name, orders=r.orders, units=r.units, sales=money(r.gross_minor))
            for r in rows
        ]

    async def payment_methods(
        self, session: AsyncSession, settings: Settings, first: date, last: date
    ) -> list[schemas.PaymentMethodRow]:
        check_range(first, last)
        money = _Money(settings.currency)
        rows = await ReportRepository(session).payment_methods(dates_window(shop_zone(settings), first, last))
        return [
            schemas.PaymentMethodRow(
                payment_method=r.name or "",
                orders=r.orders,
                gross_sales=money(r.gross_minor),
                refunded=money(r.refunded_minor),
                revenue=money(r.gross_minor - r.refunded_minor),
            )
            for r in rows
        ]

    async def coupons(
        self, session: AsyncSession, settings: Settings, first: date, last: date
    ) -> list[schemas.CouponRow]:
        check_range(first, last)
        money = _Money(settings.currency)
        rows = await ReportRepository(session).coupons(
            dates_window(shop_zone(settings), first, last), REPORT_ROWS
        )
        return [
            schemas.CouponRow(
                code=r.name or "",
                orders=r.orders,
                discount=money(r.discount_minor),
                gross_sales=money(r.gross_minor),
            )
            for r in rows
        ]

    async def customers(
        self, session: AsyncSession, settings: Settings, first: date, last: date, granularity: Granularity
    ) -> list[schemas.CustomerRow]:
        check_range(first, last)
        zone = shop_zone(settings)
        window = dates_window(zone, first, last)
        shown = buckets(granularity, first, last)
        bucketing = Bucketing(granularity, offset_pieces(zone, window), first, last)
        found = {row.key: row for row in await ReportRepository(session).customers(window, bucketing)}
        rows = []
        for bucket in shown:
            row = found.get(bucket.key)
            rows.append(
                schemas.CustomerRow(
                    label=bucket.label,
                    start=bucket.start,
                    new_customers=row.new if row else 0,
                    returning_customers=row.returning if row else 0,
                    orders_from_new=row.new_orders if row else 0,
                    orders_from_returning=row.returning_orders if row else 0,
                    sign_ups=row.sign_ups if row else 0,
                )
            )
        return rows

    async def range_figures(
        self,
        session: AsyncSession,
        settings: Settings,
        first: date,
        last: date,
        *,
        now: datetime | None = None,
    ) -> schemas.Figures:
        """A date range's figures against as many days just before it (three statements)."""
        check_range(first, last)
        zone = shop_zone(settings)
        before_first, before_last = previous_dates(first, last)
        windows = [
            dates_window(zone, first, last),
            dates_window(zone, max(before_first, EARLIEST_DATE), before_last),
        ]
        cells = await AnalyticsRepository(session).sales(windows)
        return await self._figures(
            session, _Money(settings.currency), windows, _totals(cells, 2), now or utcnow()
        )

    async def analytics(
        self,
        session: AsyncSession,
        settings: Settings,
        first: date,
        last: date,
        granularity: Granularity,
        *,
        now: datetime | None = None,
    ) -> schemas.Analytics:
        """Every report over one range (the API's ``/admin/analytics``)."""
        check_range(first, last)
        return schemas.Analytics(
            date_from=first,
            date_to=last,
            granularity=granularity,
            time_zone=settings.timezone,
            currency=settings.currency,
            figures=await self.range_figures(session, settings, first, last, now=now),
            sales=await self.sales(session, settings, first, last, granularity),
            products=await self.product_report(session, settings, first, last),
            categories=await self.categories(session, settings, first, last),
            payment_methods=await self.payment_methods(session, settings, first, last),
            coupons=await self.coupons(session, settings, first, last),
            customers=await self.customers(session, settings, first, last, granularity),
        )


def _totals(cells: Sequence[SalesCell], windows: int) -> list[WindowSales]:
    """Each window's sales, summed over its buckets."""
    totals = [WindowSales() for _ in range(windows)]
    for cell in cells:
        if 0 <= cell.window < windows:
            was = totals[cell.window]
            totals[cell.window] = WindowSales(
                was.orders + cell.orders,
                was.gross_minor + cell.gross_minor,
                was.refunded_minor + cell.refunded_minor,
            )
    return totals


def _rows(money: _Money, cells: Sequence[SalesCell], shown: Sequence[Bucket]) -> list[schemas.SalesRow]:
    """A row per bucket shown, from the cells of one window (a bucket without any reads zero)."""
    found = {cell.key: cell for cell in cells}
    rows = []
    for bucket in shown:
        cell = found.get(bucket.key) or SalesCell(0, bucket.key)
        rows.append(
            schemas.SalesRow(
                label=bucket.label,
                start=bucket.start,
                orders=cell.orders,
                gross_sales=money(cell.gross_minor),
                refunds=cell.refunds,
                refunded=money(cell.refunded_minor),
                revenue=money(cell.gross_minor - cell.refunded_minor),
                average_order_value=_money_or_none(money, average(cell.gross_minor, cell.orders)),
            )
        )
    return rows


def _money_or_none(money: _Money, minor: int | None) -> Decimal | None:
    return None if minor is None else money(minor)


def _net(sales: WindowSales) -> int:
    return sales.gross_minor - sales.refunded_minor


analytics = AnalyticsService()
