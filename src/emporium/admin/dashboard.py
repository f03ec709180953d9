"""``/admin``: the back office's home. Staff who may read the figures (``analytics:read``) see the period's
figures against the period before, sales over time, orders by status and best sellers; everyone sees the
tasks waiting for them, each only to staff whose role can act on it (a support agent sees the orders to
fulfil and the cash-on-delivery orders to confirm, not the bank transfers only a payments role verifies)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Query
from fastapi.responses import HTMLResponse

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.report_tables import Chart, Series, tick
from emporium.admin.routing import admin_router
from emporium.analytics import schemas
from emporium.analytics.home_cache import home_figures
from emporium.analytics.periods import Granularity, Period
from emporium.analytics.service import analytics
from emporium.core.permissions import Permission
from emporium.orders.names import order_status_name
from emporium.web.templating import format_money

router = admin_router(prefix="/admin")

HomePage = Annotated[AdminContext, AdminWith()]
PERIOD_NAMES = {Period.TODAY: "Today", Period.LAST_7_DAYS: "Last 7 days", Period.LAST_30_DAYS: "Last 30 days"}
PREVIOUS_NAMES = {
    Period.TODAY: "yesterday until this time",
    Period.LAST_7_DAYS: "the 7 days before",
    Period.LAST_30_DAYS: "the 30 days before",
}


@dataclass(frozen=True)
class Task:
    label: str
    count: int
    # None while the section that deals with it does not exist: the count is still worth knowing.
    url: str | None
    permission: Permission


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    previous: str
    # "+12.5 %", "-1.20 pts", "new" (nothing before), "" (nothing either time).
    change: str
    direction: str  # up, down or flat
    hint: str


def tasks_of(tasks: schemas.Tasks) -> list[Task]:
    """The task list, each with the screen that deals with it (oldest first) and the permission it needs."""
    orders = "/admin/orders?sort=oldest&"
    return [
        Task(
            "Orders to fulfil", tasks.orders_to_fulfil, orders + "status=confirmed", Permission.ORDERS_UPDATE
        ),
        Task(
            "Orders being prepared",
            tasks.orders_processing,
            orders + "status=processing",
            Permission.ORDERS_UPDATE,
        ),
        Task(
            "Bank transfers to verify",
            tasks.transfers_to_verify,
            orders + "status=pending&payment=pending_verification&method=bank_transfer",
            Permission.PAYMENTS_VERIFY,
        ),
        Task(
            "Cash-on-delivery orders to confirm",
            tasks.cash_on_delivery_to_confirm,
            orders + "status=pending&method=cash_on_delivery",
            Permission.ORDERS_UPDATE,
        ),
        Task(
            "Low-stock pools",
            tasks.low_stock_pools,
            "/admin/inventory?low_stock=1",
            Permission.INVENTORY_WRITE,
        ),
        Task("Failed background jobs", tasks.dead_jobs, "/admin/jobs?state=dead", Permission.SETTINGS_MANAGE),
    ]


def _change(percent: Decimal | None, current: Decimal | int | None, unit: str = " %") -> tuple[str, str]:
    if percent is None:
        return ("new", "up") if current else ("", "flat")
    sign = "+" if percent > 0 else "\N{MINUS SIGN}" if percent < 0 else "±"
    return f"{sign}{abs(percent)}{unit}", "up" if percent > 0 else "down" if percent < 0 else "flat"


def cards(stats: schemas.HomeStats, locale: str) -> list[Card]:
    f, currency = stats.figures, stats.currency

    def money(value: Decimal | None) -> str:
        return "—" if value is None else format_money(value, currency, locale)

    def amount_card(
        label: str, figure: schemas.AmountFigure | schemas.OptionalAmountFigure, hint: str
    ) -> Card:
        change, direction = _change(figure.change_percent, figure.current)
        return Card(label, money(figure.current), money(figure.previous), change, direction, hint)

    def count_card(label: str, figure: schemas.CountFigure, hint: str) -> Card:
        change, direction = _change(figure.change_percent, figure.current)
        return Card(label, str(figure.current), str(figure.previous), change, direction, hint)

    rate = f.conversion
    change, direction = _change(rate.change_points, rate.current_percent, " pts")
    if rate.change_points is None:
        change, direction = "", "flat"
    return [
        amount_card("Revenue", f.revenue, "Sales placed, less refunds made"),
        count_card("Orders", f.orders, "Confirmed or paid, not cancelled"),
        amount_card("Average order value", f.average_order_value, "Sales divided by orders"),
        count_card("New customers", f.new_customers, "First order ever"),
        Card(
            "Conversion",
            "—" if rate.current_percent is None else f"{rate.current_percent} %",
            "—" if rate.previous_percent is None else f"{rate.previous_percent} %",
            change,
            direction,
            "Orders per cart created",
        ),
        count_card("Abandoned carts", f.abandoned_carts, "Items left untouched for an hour"),
    ]


def sales_chart(stats: schemas.HomeStats) -> Chart:
    hourly = stats.granularity is Granularity.HOUR
    ticks = [row.label[-5:] if hourly else tick(row.start, Granularity.DAY) for row in stats.sales]
    return Chart(
        "bar",
        f"Revenue by {'hour' if hourly else 'day'} ({stats.currency})",
        [row.label for row in stats.sales],
        [Series("Revenue", [row.revenue for row in stats.sales])],
        stats.currency,
        ticks=ticks,
    )


def status_chart(stats: schemas.HomeStats) -> Chart:
    return Chart(
        "bar",
        "Orders placed in the period, by their status now",
        [order_status_name(row.status) for row in stats.orders_by_status],
        [Series("Orders", [Decimal(row.orders) for row in stats.orders_by_status])],
        horizontal=True,
    )


@router.get("", response_class=HTMLResponse, response_model=None)
async def home(
    page: HomePage, period: Annotated[Period, Query(description="today, 7d or 30d")] = Period.LAST_7_DAYS
) -> HTMLResponse:
    stats = None
    if page.can(Permission.ANALYTICS_READ):
        stats = await home_figures(page.session, page.ctx, period)
        waiting = stats.tasks
    else:
        waiting = await analytics.tasks(page.session)
    return await page.render(
        "admin/dashboard/home.html.j2",
        title="Home",
        stats=stats,
        period=period,
        periods=PERIOD_NAMES,
        previous_name=PREVIOUS_NAMES[period],
        cards=cards(stats, page.settings.locale) if stats else [],
        sales_chart=sales_chart(stats) if stats else None,
        status_chart=status_chart(stats) if stats and stats.orders_by_status else None,
        tasks=[task for task in tasks_of(waiting) if page.can(task.permission)],
        as_of=_local_time(stats.as_of, stats.time_zone) if stats else None,
    )


def _local_time(at: datetime | None, zone: str) -> str | None:
    return at.astimezone(ZoneInfo(zone)).strftime("%H:%M:%S") if at else None
