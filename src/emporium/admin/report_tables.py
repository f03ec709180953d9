"""The reports as tables and charts: one ``ReportTable`` per report, whose rows are exactly what the page's
table shows and what its CSV export holds. Amounts are written as plain decimals (``1234.50``) with the
currency in the column's name, so the export reads back into a spreadsheet as numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from emporium.analytics import schemas
from emporium.analytics.periods import Granularity
from emporium.orders.names import payment_method_name

# The categorical charts draw the best this many; the table lists them all.
CHART_BARS = 20


class ReportKind(StrEnum):
    SALES = "sales"
    PRODUCTS = "products"
    CATEGORIES = "categories"
    PAYMENT_METHODS = "payment_methods"
    COUPONS = "coupons"
    REFUNDS = "refunds"
    CUSTOMERS = "customers"

    @property
    def heading(self) -> str:
        return REPORT_TITLES[self]

    @property
    def over_time(self) -> bool:
        """Whether the report has a row per day, week or month (the granularity applies)."""
        return self in (ReportKind.SALES, ReportKind.REFUNDS, ReportKind.CUSTOMERS)


REPORT_TITLES = {
    ReportKind.SALES: "Sales over time",
    ReportKind.PRODUCTS: "Sales by product",
    ReportKind.CATEGORIES: "Sales by category",
    ReportKind.PAYMENT_METHODS: "Sales by payment method",
    ReportKind.COUPONS: "Sales by coupon",
    ReportKind.REFUNDS: "Refunds",
    ReportKind.CUSTOMERS: "New and returning customers",
}


@dataclass(frozen=True)
class Series:
    name: str
    values: list[Decimal]


@dataclass(frozen=True)
class Chart:
    kind: Literal["bar", "line"]
    title: str
    labels: list[str]
    series: list[Series]
    # How each value reads (the bar's hover title and the chart's table).
    unit: str = ""
    horizontal: bool = False
    # Short labels under a time axis ("Mar 3"); the full labels name the bars and the table's rows.
    ticks: list[str] | None = None


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool = False


@dataclass(frozen=True)
class ReportTable:
    title: str
    columns: list[Column]
    rows: list[list[str]]
    chart: Chart | None
    notes: list[str] = field(default_factory=list)

    @property
    def header(self) -> list[str]:
        return [column.label for column in self.columns]


def amount(value: Decimal) -> str:
    return f"{value:f}"


def _time_labels(rows: Sequence[schemas.SalesRow | schemas.CustomerRow]) -> list[str]:
    return [row.label for row in rows]


def tick(start: date, granularity: Granularity) -> str:
    if granularity is Granularity.MONTH:
        return f"{start:%b %Y}"
    return f"{start:%b} {start.day}"


def _ticks(rows: Sequence[schemas.SalesRow | schemas.CustomerRow], granularity: Granularity) -> list[str]:
    return [tick(row.start, granularity) for row in rows]


def sales_table(rows: Sequence[schemas.SalesRow], currency: str, granularity: Granularity) -> ReportTable:
    columns = [
        Column("Period"),
        Column("Orders", True),
        Column(f"Gross sales ({currency})", True),
        Column("Refunds", True),
        Column(f"Refunded ({currency})", True),
        Column(f"Revenue ({currency})", True),
        Column(f"Average order ({currency})", True),
    ]
    body = [
        [
            r.label,
            str(r.orders),
            amount(r.gross_sales),
            str(r.refunds),
            amount(r.refunded),
            amount(r.revenue),
            "" if r.average_order_value is None else amount(r.average_order_value),
        ]
        for r in rows
    ]
    chart = Chart(
        "line",
        f"Revenue ({currency})",
        _time_labels(rows),
        [Series("Revenue", [r.revenue for r in rows])],
        currency,
    )
    return ReportTable(REPORT_TITLES[ReportKind.SALES], columns, body, chart)


def refunds_table(rows: Sequence[schemas.SalesRow], currency: str, granularity: Granularity) -> ReportTable:
    columns = [Column("Period"), Column("Refunds", True), Column(f"Refunded ({currency})", True)]
    body = [[r.label, str(r.refunds), amount(r.refunded)] for r in rows]
    chart = Chart(
        "bar",
        f"Refunded ({currency})",
        _time_labels(rows),
        [Series("Refunded", [r.refunded for r in rows])],
        currency,
    )
    return ReportTable(REPORT_TITLES[ReportKind.REFUNDS], columns, body, chart)


def customers_table(rows: Sequence[schemas.CustomerRow], granularity: Granularity) -> ReportTable:
    columns = [
        Column("Period"),
        Column("New customers", True),
        Column("Returning customers", True),
        Column("Orders from new", True),
        Column("Orders from returning", True),
        Column("Sign-ups", True),
    ]
    body = [
        [
            r.label,
            str(r.new_customers),
            str(r.returning_customers),
            str(r.orders_from_new),
            str(r.orders_from_returning),
            str(r.sign_ups),
        ]
        for r in rows
    ]
    chart = Chart(
        "line",
        "Customers who bought",
        _time_labels(rows),
        [
            Series("New", [Decimal(r.new_customers) for r in rows]),
            Series("Returning", [Decimal(r.returning_customers) for r in rows]),
        ],
        ticks=_ticks(rows, granularity),
    )
    return ReportTable(REPORT_TITLES[ReportKind.CUSTOMERS], columns, body, chart)


def _bars(title: str, labels: list[str], values: list[Decimal], unit: str) -> Chart | None:
    if not labels:
        return None
    return Chart(
        "bar", title, labels[:CHART_BARS], [Series(title, values[:CHART_BARS])], unit, horizontal=True
    )


def products_table(rows: Sequence[schemas.ProductRow], currency: str, limit: int) -> ReportTable:
    columns = [
        Column("Product"),
        Column("Product id", True),
        Column("Orders", True),
        Column("Units", True),
        Column(f"Sales ({currency})", True),
    ]
    body = [[r.name, str(r.product_id), str(r.orders), str(r.units), amount(r.sales)] for r in rows]
    chart = _bars(f"Sales ({currency})", [r.name for r in rows], [r.sales for r in rows], currency)
    notes = [f"The {limit} best-selling products are listed."] if len(rows) >= limit else []
    return ReportTable(REPORT_TITLES[ReportKind.PRODUCTS], columns, body, chart, notes)


def categories_table(rows: Sequence[schemas.CategoryRow], currency: str) -> ReportTable:
    columns = [
        Column("Category"),
        Column("Orders", True),
        Column("Units", True),
        Column(f"Sales ({currency})", True),
    ]
    names = [r.category or "No category" for r in rows]
    body = [[name, str(r.orders), str(r.units), amount(r.sales)] for name, r in zip(names, rows, strict=True)]
    return ReportTable(
        REPORT_TITLES[ReportKind.CATEGORIES],
        columns,
        body,
        _bars(f"Sales ({currency})", names, [r.sales for r in rows], currency),
    )


def payment_methods_table(rows: Sequence[schemas.PaymentMethodRow], currency: str) -> ReportTable:
    columns = [
        Column("Payment method"),
        Column("Orders", True),
        Column(f"Gross sales ({currency})", True),
        Column(f"Refunded ({currency})", True),
        Column(f"Revenue ({currency})", True),
    ]
    names = [payment_method_name(r.payment_method) for r in rows]
    body = [
        [name, str(r.orders), amount(r.gross_sales), amount(r.refunded), amount(r.revenue)]
        for name, r in zip(names, rows, strict=True)
    ]
    return ReportTable(
        REPORT_TITLES[ReportKind.PAYMENT_METHODS],
        columns,
        body,
        _bars(f"Revenue ({currency})", names, [r.revenue for r in rows], currency),
    )


def coupons_table(rows: Sequence[schemas.CouponRow], currency: str, limit: int) -> ReportTable:
    columns = [
        Column("Coupon"),
        Column("Orders", True),
        Column(f"Discount given ({currency})", True),
        Column(f"Gross sales ({currency})", True),
    ]
    body = [[r.code, str(r.orders), amount(r.discount), amount(r.gross_sales)] for r in rows]
    chart = _bars(
        f"Gross sales ({currency})", [r.code for r in rows], [r.gross_sales for r in rows], currency
    )
    notes = [f"The {limit} coupons with the most sales are listed."] if len(rows) >= limit else []
    return ReportTable(REPORT_TITLES[ReportKind.COUPONS], columns, body, chart, notes)
