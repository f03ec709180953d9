"""/admin, the back office's home: the figures for staff who may read them, the task list for everyone (each
task only for the roles that can act on it), hostile parameters, and a constant number of statements."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.inventory.models import StockPool
from tests.admin.conftest import StaffClient, StaffClientFactory, new_staff_client
from tests.analytics.factory import CartSpec, LineSpec, OrderSpec, add_cart, add_order, open_shop
from tests.conftest import MakeContext
from tests.support import STRONG_PASSWORD, count_statements

STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)


async def some_sales(ctx: AppContext, orders: int = 3) -> None:
    now = utcnow()
    async with ctx.db.session() as session:
        shop = await open_shop(session, [now - timedelta(days=3)])
        for n in range(orders):
            placed = now - timedelta(days=n % 5, minutes=5)
            lines = (LineSpec(n % 3, 1, 1_000 + n),)
            await add_order(
                session, shop, OrderSpec(placed, 1_500 + n, "shipped", ("guest", n % 4), lines=lines)
            )
        await add_order(session, shop, OrderSpec(now - timedelta(minutes=5), 700, "pending", ("user", 0)))
        await add_order(
            session,
            shop,
            OrderSpec(now - timedelta(minutes=5), 900, "pending", ("guest", 9), "bank_transfer"),
        )
        await add_cart(session, shop, CartSpec(now - timedelta(days=1), now - timedelta(hours=5), 2))
        session.add(StockPool(name="Almost gone", unit="pc", on_hand=1, reserved=0, low_stock_threshold=5))


def assert_csp_clean(html: str) -> None:
    assert not STYLE_ATTRIBUTE.search(html)
    assert not INLINE_SCRIPT.search(html)
    assert "<style" not in html


async def test_an_admin_sees_the_figures_charts_and_tasks(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    await some_sales(ctx)
    admin = await staff_client("admin")
    response = await admin.get("/admin", params={"period": "7d"})
    assert response.status_code == 200
    assert "default-src" in response.headers["content-security-policy"]
    html = response.text
    assert_csp_clean(html)
    for label in (
        "Revenue",
        "Orders",
        "Average order value",
        "New customers",
        "Conversion",
        "Abandoned carts",
    ):
        assert f'<p class="admin-figure__label">{label}</p>' in html
    assert html.count("<svg") == 2
    assert 'aria-current="page">Last 7 days</a>' in html
    # Three shipped orders this week: $15.00 + $15.01 + $15.02.
    assert "$45.03" in html
    # Each chart is followed by its table for screen readers.
    assert 'id="sales-chart-data"' in html
    assert 'id="status-chart-data"' in html
    assert "Figure product" in html
    # Admins may act on transfers and stock, not on failed jobs (super admins only).
    assert "Bank transfers to verify" in html
    assert "Low-stock pools" in html
    assert "Failed background jobs" not in html
    # Each task leads to the screen that deals with it: the pending transfer is on the order table it links.
    transfer = re.search(
        r'href="([^"]+)"><span class="admin-tasks__count">1</span> Bank transfers to verify', html
    )
    assert transfer
    listed = await admin.get(transfer.group(1).replace("&amp;", "&"))
    assert listed.status_code == 200
    assert len(set(re.findall(r"ORD-T-[0-9]+", listed.text))) == 1
    today = await admin.get("/admin", params={"period": "today"})
    assert 'aria-current="page">Today</a>' in today.text
    assert "00:00" in today.text


async def test_support_lands_on_the_task_list_only(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    await some_sales(ctx)
    support = await staff_client("support")
    response = await support.get("/admin", params={"period": "30d"})
    assert response.status_code == 200
    html = response.text
    assert "Waiting for you" in html
    assert "Orders to fulfil" in html
    assert "Cash-on-delivery orders to confirm" in html
    assert "Bank transfers to verify" not in html
    assert "Low-stock pools" not in html
    assert "admin-figure" not in html
    assert "<svg" not in html
    assert "$45.03" not in html
    assert 'href="/admin/reports"' not in html


async def test_a_super_admin_is_told_of_failed_jobs(staff_client: StaffClientFactory) -> None:
    boss = await staff_client("super_admin")
    html = (await boss.get("/admin")).text
    assert "Failed background jobs" in html
    assert 'href="/admin/reports"' in html


@pytest.mark.parametrize("period", ["90d", "x" * 500, "today\x00"])
async def test_a_hostile_period_gets_a_message(staff_client: StaffClientFactory, period: str) -> None:
    admin = await staff_client("admin")
    response = await admin.get("/admin", params={"period": period})
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]
    assert "Some details need another look" in response.text


async def test_the_home_page_costs_the_same_statements_whatever_the_period_and_orders(
    ctx: AppContext, staff_client: StaffClientFactory, engine: AsyncEngine
) -> None:
    admin = await staff_client("admin")
    counts = set()
    for orders in (0, 12):
        if orders:
            await some_sales(ctx, orders)
        for period in ("today", "7d", "30d"):
            with count_statements(engine) as sent:
                assert (await admin.get("/admin", params={"period": period})).status_code == 200
            counts.add(len(sent))
    assert len(counts) == 1, counts
    # The staff session, then sales by bucket, new customers, carts, statuses, best sellers and the tasks (2).
    assert counts.pop() == 8


async def test_every_task_link_leads_to_a_screen(staff_client: StaffClientFactory) -> None:
    """A task whose section is not built yet is counted without a link, never linked to a 404."""
    owner = await staff_client("super_admin")
    home = await owner.get("/admin")
    links = re.findall(r'<li class="admin-tasks__item[^"]*">\s*<a href="([^"]+)"', home.text)
    assert links
    for link in links:
        response = await owner.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, link
    assert "Low-stock pools" in home.text


async def test_the_home_page_keeps_its_figures_a_minute_but_not_its_tasks(make_context: MakeContext) -> None:
    ctx = make_context(analytics_home_cache_seconds=60)
    await some_sales(ctx)
    owner = await new_staff_client(ctx, "super_admin")
    try:
        await _figures_kept_tasks_fresh(ctx, owner)
    finally:
        await owner.aclose()


async def _figures_kept_tasks_fresh(ctx: AppContext, owner: StaffClient) -> None:
    first = await owner.get("/admin?period=today")
    assert "figures as of" in first.text
    revenue = _card_value(first.text, "Revenue")
    fulfil = _task_count(first.text, "Orders to fulfil")
    now = utcnow()
    async with ctx.db.session() as session:
        shop = await open_shop(session, [now - timedelta(days=3)])
        confirmed = OrderSpec(now - timedelta(minutes=1), 5_000, "confirmed", ("guest", 20))
        await add_order(session, shop, confirmed)
    again = await owner.get("/admin?period=today")
    # The figures are the minute's; the new confirmed order is already a task.
    assert _card_value(again.text, "Revenue") == revenue
    assert _task_count(again.text, "Orders to fulfil") == fulfil + 1
    # The API always computes afresh.
    login = {"email": owner.email, "password": STRONG_PASSWORD}
    token = (await owner.post("/api/v1/auth/login", json=login)).json()["data"]["access_token"]
    stats = await owner.get(
        "/api/v1/admin/stats", params={"period": "today"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert stats.json()["data"]["figures"]["orders"]["current"] == 1 + _orders_today(first.text)


def _card_value(html: str, label: str) -> str:
    found = re.search(
        rf'admin-figure__label">{re.escape(label)}</p>\s*<p class="admin-figure__value">([^<]+)</p>', html
    )
    assert found, label
    return found.group(1)


def _task_count(html: str, label: str) -> int:
    found = re.search(rf'admin-tasks__count">(\d+)</span> {re.escape(label)}', html)
    assert found, label
    return int(found.group(1))


def _orders_today(html: str) -> int:
    return int(_card_value(html, "Orders"))
