"""GET /api/v1/admin/stats and /admin/analytics: who may read them, what they answer for a known shop,
hostile parameters, and a number of SQL statements that does not grow with the range."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.app import create_app
from emporium.core.config import Settings
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from tests.analytics.factory import CartSpec, LineSpec, OrderSpec, add_cart, add_order, open_shop
from tests.conftest import MakeContext, Shopper
from tests.inventory.factory import staff_headers
from tests.support import asgi_client, count_statements, data, error

STATS = "/api/v1/admin/stats"
ANALYTICS = "/api/v1/admin/analytics"


async def a_known_shop(ctx: AppContext) -> datetime:
    """Today (UTC): two sales and a refund, a cancelled order, a pending one and a returning customer."""
    now = utcnow()
    async with ctx.db.session() as session:
        shop = await open_shop(session, [now - timedelta(days=40)])
        hour = now - timedelta(minutes=1)
        earlier = now - timedelta(days=20)
        await add_order(session, shop, OrderSpec(earlier, 1_000, "delivered", ("user", 0)))
        await add_order(
            session,
            shop,
            OrderSpec(hour, 2_500, "confirmed", ("user", 0), lines=(LineSpec(0, 2, 2_000),)),
        )
        await add_order(
            session,
            shop,
            OrderSpec(
                hour,
                4_000,
                "partially refunded",
                ("guest", 1),
                payment_method="bank_transfer",
                coupon="SAVE10",
                discount_minor=400,
                lines=(LineSpec(1, 1, 3_600),),
                refunds=((hour, 1_500, True), (hour, 900, False)),
            ),
        )
        await add_order(session, shop, OrderSpec(hour, 9_999, "cancelled unpaid", ("guest", 2)))
        await add_order(
            session, shop, OrderSpec(hour, 7_777, "pending", ("guest", 3), payment_method="cash_on_delivery")
        )
        for items in (1, 0, 2):
            await add_cart(session, shop, CartSpec(now - timedelta(hours=3), now - timedelta(hours=2), items))
    return now


async def test_the_home_figures_of_a_known_shop(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await a_known_shop(ctx)
    headers = await staff_headers(client, ctx, email="figures@example.com", role="admin")
    stats = data(await client.get(STATS, params={"period": "7d"}, headers=headers))
    figures = stats["figures"]
    assert stats["currency"] == "USD"
    assert stats["time_zone"] == "UTC"
    assert stats["granularity"] == "day"
    assert figures["gross_sales"]["current"] == "65.00"
    assert figures["refunds"]["current"] == "15.00"
    assert figures["revenue"]["current"] == "50.00"
    assert figures["orders"] == {"current": 2, "previous": 0, "change_percent": None}
    assert figures["average_order_value"]["current"] == "32.50"
    # The account bought 20 days ago: only the guest is new this week.
    assert figures["new_customers"]["current"] == 1
    assert figures["carts_created"]["current"] == 3
    assert figures["conversion"]["current_percent"] == "66.67"
    assert figures["abandoned_carts"]["current"] == 2
    assert {row["status"]: row["orders"] for row in stats["orders_by_status"]} == {
        "confirmed": 1,
        "partially_refunded": 1,
        "cancelled": 1,
        "pending": 1,
    }
    assert [(p["units"], p["sales"]) for p in stats["top_products"]] == [(1, "36.00"), (2, "20.00")]
    assert sum(int(row["orders"]) for row in stats["sales"]) == 2
    assert stats["tasks"]["orders_to_fulfil"] == 1
    assert stats["tasks"]["orders_processing"] == 0
    assert stats["tasks"]["cash_on_delivery_to_confirm"] == 1
    assert stats["tasks"]["transfers_to_verify"] == 0
    assert len(stats["sales"]) == 7
    month = data(await client.get(STATS, params={"period": "30d"}, headers=headers))
    assert month["figures"]["orders"]["current"] == 3
    assert month["figures"]["new_customers"]["current"] == 2
    today = data(await client.get(STATS, params={"period": "today"}, headers=headers))
    assert today["granularity"] == "hour"
    assert 1 <= len(today["sales"]) <= 24


async def test_the_analytics_of_a_range(client: httpx.AsyncClient, ctx: AppContext) -> None:
    now = await a_known_shop(ctx)
    headers = await staff_headers(client, ctx, email="reports@example.com", role="super_admin")
    today = now.date()
    params = {
        "from": (today - timedelta(days=29)).isoformat(),
        "to": today.isoformat(),
        "granularity": "week",
    }
    body = data(await client.get(ANALYTICS, params=params, headers=headers))
    assert body["date_from"] == params["from"]
    assert body["granularity"] == "week"
    assert body["figures"]["orders"]["current"] == 3
    assert sum(row["orders"] for row in body["sales"]) == 3
    assert all(row["label"].startswith("week of ") for row in body["sales"])
    methods = {row["payment_method"]: row for row in body["payment_methods"]}
    assert methods["bank_transfer"]["refunded"] == "15.00"
    assert methods["bank_transfer"]["revenue"] == "25.00"
    assert body["coupons"] == [{"code": "SAVE10", "orders": 1, "discount": "4.00", "gross_sales": "40.00"}]
    assert {row["category"] for row in body["categories"]} == {"Tees", "Mugs"}
    customers = body["customers"]
    assert sum(row["new_customers"] for row in customers) == 2
    assert sum(row["returning_customers"] for row in customers) == 1
    default = data(await client.get(ANALYTICS, headers=headers))
    assert len(default["sales"]) == 30


async def test_only_staff_who_may_read_figures_get_them(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    for url in (STATS, ANALYTICS):
        assert error(await client.get(url), 401)["code"] == "UNAUTHORIZED"
        assert error(await client.get(url, headers=shopper.headers), 403)["code"] == "PERMISSION_DENIED"
    support = await staff_headers(client, ctx, email="help@example.com", role="support")
    assert error(await client.get(STATS, headers=support), 403)["code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (STATS, {"period": "90d"}, "period"),
        (STATS, {"period": "x" * 5000}, "period"),
        (ANALYTICS, {"granularity": "hour"}, "granularity"),
        (ANALYTICS, {"from": "2026-02-30"}, "from"),
        (ANALYTICS, {"from": "yesterday"}, "from"),
        (ANALYTICS, {"to": "2026-01-01\x00"}, "to"),
        (ANALYTICS, {"from": "2026-03-10", "to": "2026-03-01"}, "to"),
        (ANALYTICS, {"from": "2000-01-01", "to": "2026-01-01"}, "to"),
        (ANALYTICS, {"from": "0001-01-01", "to": "0001-01-02"}, "from"),
        (ANALYTICS, {"from": "9999-12-30", "to": "9999-12-31"}, "from"),
    ],
)
async def test_hostile_parameters_are_refused_with_the_field(
    client: httpx.AsyncClient, ctx: AppContext, url: str, params: dict[str, str], field: str
) -> None:
    headers = await staff_headers(client, ctx, email="hostile@example.com", role="admin")
    refused = error(await client.get(url, params=params, headers=headers), 422)
    assert refused["code"] in ("VALIDATION_ERROR", "INVALID_DATE_RANGE")
    assert [d["field"] for d in refused["details"]] == [field]
    assert all(d["message"] for d in refused["details"])


async def test_statements_do_not_grow_with_the_range(
    client: httpx.AsyncClient, ctx: AppContext, engine: AsyncEngine
) -> None:
    await a_known_shop(ctx)
    headers = await staff_headers(client, ctx, email="counted@example.com", role="admin")

    async def statements(url: str, params: dict[str, Any]) -> int:
        with count_statements(engine) as sent:
            data(await client.get(url, params=params, headers=headers))
        return len(sent)

    home = {await statements(STATS, {"period": period}) for period in ("today", "7d", "30d")}
    assert len(home) == 1
    # The staff member's session, then 7: sales and refunds by bucket, new customers, carts, statuses, best
    # sellers, and two for the tasks.
    assert home.pop() == 8
    today = utcnow().date()
    week = await statements(ANALYTICS, {"from": (today - timedelta(days=6)).isoformat()})
    years = await statements(
        ANALYTICS, {"from": (today - timedelta(days=1500)).isoformat(), "granularity": "day"}
    )
    months = await statements(
        ANALYTICS, {"from": (today - timedelta(days=1500)).isoformat(), "granularity": "month"}
    )
    # The session, the range's figures (3), and one per report (two for customers and sign-ups).
    assert (week, years, months) == (11, 11, 11)


def test_the_time_zone_is_checked_when_the_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(timezone="Asia/Kathmandu").timezone == "Asia/Kathmandu"
    for wrong in ("Mars/Olympus_Mons", "../../etc/passwd", "", "Europe/" + "x" * 300):
        with pytest.raises(ValidationError, match="EMPORIUM_TIMEZONE"):
            Settings(timezone=wrong)
    monkeypatch.setenv("EMPORIUM_TIMEZONE", "America/St_Johns")
    newfoundland = ZoneInfo(Settings().timezone)
    assert datetime(2026, 1, 1, tzinfo=newfoundland).utcoffset() == timedelta(hours=-3, minutes=-30)


async def test_short_and_long_ranges_read_alike(client: httpx.AsyncClient, ctx: AppContext) -> None:
    """Up to 62 days the reports look things up sale by sale; beyond, in one pass: both give the same rows
    for the same sales."""
    await a_known_shop(ctx)
    headers = await staff_headers(client, ctx, email="ranges@example.com", role="admin")
    today = utcnow().date()

    def totals(body: dict[str, Any]) -> tuple[object, ...]:
        customers = body["customers"]
        return (
            sum(row["new_customers"] for row in customers),
            sum(row["returning_customers"] for row in customers),
            sum(row["orders_from_new"] for row in customers),
            body["products"],
            body["categories"],
            body["payment_methods"],
        )

    bodies = []
    for days in (61, 70):
        first = (today - timedelta(days=days - 1)).isoformat()
        params = {"from": first, "granularity": "day"}
        bodies.append(data(await client.get(ANALYTICS, params=params, headers=headers)))
    short, long = bodies
    assert totals(short) == totals(long)
    # The guest bought for the first time this month, the account again, and the earlier sale was the
    # account's first.
    assert totals(short)[:3] == (2, 1, 2)


async def test_days_follow_the_shops_time_zone(make_context: MakeContext) -> None:
    """A sale placed now falls on the shop's own date: in Kiritimati (UTC+14) often tomorrow's UTC date."""
    ctx = make_context(timezone="Pacific/Kiritimati")
    now = await a_known_shop(ctx)
    async with asgi_client(create_app(ctx=ctx)) as client:
        headers = await staff_headers(client, ctx, email="kiritimati@example.com", role="admin")
        stats = data(await client.get(STATS, params={"period": "7d"}, headers=headers))
    local_today = now.astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    assert stats["time_zone"] == "Pacific/Kiritimati"
    assert stats["sales"][-1]["label"] == local_today.isoformat()
    # The period starts at local midnight six days ago: 10:00 UTC the day before.
    assert stats["current"]["start"] == f"{(local_today - timedelta(days=7)).isoformat()}T10:00:00Z"
