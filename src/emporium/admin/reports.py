"""``/admin/reports``: one report at a time over a date range (sales by day, week or month, by product,
category, payment method and coupon, refunds, new and returning customers), drawn as a chart above the table
behind it; ``?format=csv`` exports exactly that table. Needs ``analytics:read``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import Query
from fastapi.responses import HTMLResponse, Response

from emporium.admin import report_tables as tables
from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.params import OptionalDate, parse_day
from emporium.admin.report_tables import ReportKind, ReportTable
from emporium.admin.routing import admin_router
from emporium.analytics.periods import Granularity, shop_zone
from emporium.analytics.service import REPORT_ROWS, analytics, check_range
from emporium.core.db import utcnow
from emporium.core.permissions import Permission

router = admin_router(prefix="/admin/reports")

ReportsPage = Annotated[AdminContext, AdminWith(Permission.ANALYTICS_READ)]
DEFAULT_DAYS = 30
GRANULARITIES = {Granularity.DAY: "By day", Granularity.WEEK: "By week", Granularity.MONTH: "By month"}


async def build(
    page: AdminContext, kind: ReportKind, first: date, last: date, granularity: Granularity
) -> ReportTable:
    session, settings, currency = page.session, page.settings, page.settings.currency
    if kind is ReportKind.SALES:
        sales = await analytics.sales(session, settings, first, last, granularity)
        return tables.sales_table(sales, currency, granularity)
    if kind is ReportKind.REFUNDS:
        sales = await analytics.sales(session, settings, first, last, granularity)
        return tables.refunds_table(sales, currency, granularity)
    if kind is ReportKind.CUSTOMERS:
        customers = await analytics.customers(session, settings, first, last, granularity)
        return tables.customers_table(customers, granularity)
    if kind is ReportKind.PRODUCTS:
        products = await analytics.product_report(session, settings, first, last)
        return tables.products_table(products, currency, REPORT_ROWS)
    if kind is ReportKind.CATEGORIES:
        categories = await analytics.categories(session, settings, first, last)
        return tables.categories_table(categories, currency)
    if kind is ReportKind.PAYMENT_METHODS:
        methods = await analytics.payment_methods(session, settings, first, last)
        return tables.payment_methods_table(methods, currency)
    coupons = await analytics.coupons(session, settings, first, last)
    return tables.coupons_table(coupons, currency, REPORT_ROWS)


@router.get("", response_class=HTMLResponse, response_model=None)
async def reports(
    page: ReportsPage,
    report: Annotated[ReportKind, Query()] = ReportKind.SALES,
    from_: Annotated[OptionalDate, Query(alias="from")] = "",
    to: OptionalDate = "",
    granularity: Annotated[Literal["day", "week", "month"], Query()] = "day",
    format: Annotated[Literal["html", "csv"], Query()] = "html",
) -> Response:
    today = utcnow().astimezone(shop_zone(page.settings)).date()
    last = parse_day(to, "to") or today
    first = parse_day(from_, "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    check_range(first, last)
    grain = Granularity(granularity)
    table = await build(page, report, first, last, grain)
    if format == "csv":
        filename = f"{report.value}-{first.isoformat()}-to-{last.isoformat()}.csv"
        return page.csv(filename, table.header, table.rows)
    params = {
        "report": report.value,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "granularity": grain.value,
    }
    return await page.render(
        "admin/reports/report.html.j2",
        title=f"Reports · {report.heading}",
        breadcrumbs=[("Reports", "/admin/reports"), (report.heading, None)],
        kinds=list(ReportKind),
        kind=report,
        granularities=GRANULARITIES,
        params=params,
        table=table,
        time_zone=page.settings.timezone,
        currency=page.settings.currency,
    )
