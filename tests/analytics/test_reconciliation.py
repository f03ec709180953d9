"""Every figure reconciles to the minor unit with the orders and the payment ledger: random orders in every
state, partial and failed refunds, cancellations, carts and sign-ups, in time zones with odd offsets and
clock changes, checked against the direct computation of tests/analytics/reference.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emporium.analytics.periods import Granularity, Period
from emporium.analytics.service import analytics
from emporium.core.context import AppContext
from emporium.settings import AppSettings
from tests.analytics import reference
from tests.analytics.factory import (
    PAYMENT_METHODS,
    STATES,
    CartSpec,
    LineSpec,
    OrderSpec,
    add_cart,
    add_order,
    open_shop,
)

pytestmark = pytest.mark.asyncio

ZONES = (
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "America/Santiago",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
)
# Moments near clock changes (Europe, the US, Australia and Chile in 2026) and a new year.
NOWS = (
    datetime(2026, 3, 29, 9, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 14, 0, tzinfo=UTC),
    datetime(2026, 4, 5, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 4, 22, 15, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 30, tzinfo=UTC),
    datetime(2026, 9, 6, 4, 0, tzinfo=UTC),
)
DAYS_BACK = 75
MINUTES_BACK = DAYS_BACK * 24 * 60


@st.composite
def an_order(draw: st.DrawFn, now: datetime, users: int) -> OrderSpec:
    # Half of them in the last two days, so "today" and its hours see orders too.
    back = draw(st.integers(0, 2 * 24 * 60) | st.integers(0, MINUTES_BACK))
    placed = now - timedelta(minutes=back, seconds=draw(st.integers(0, 59)))
    total = draw(st.integers(1, 50_000))
    refunds = []
    budget = total
    for _ in range(draw(st.integers(0, 2))):
        when = placed + timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
        amount = draw(st.integers(1, max(budget, 1)))
        succeeded = draw(st.booleans())
        if when < now and budget >= amount:
            refunds.append((when, amount, succeeded))
            budget -= amount if succeeded else 0
    customer = draw(
        st.tuples(st.just("user"), st.integers(0, users - 1)) | st.tuples(st.just("guest"), st.integers(0, 3))
    )
    coupon = draw(st.sampled_from([None, "SAVE10", "VIP"]))
    lines = draw(
        st.lists(
            st.builds(LineSpec, st.integers(0, 2), st.integers(1, 5), st.integers(0, 30_000)),
            min_size=1,
            max_size=3,
        )
    )
    return OrderSpec(
        placed=placed,
        total_minor=total,
        state=draw(st.sampled_from(sorted(STATES))),
        customer=customer,
        payment_method=draw(st.sampled_from(PAYMENT_METHODS)),
        coupon=coupon,
        discount_minor=draw(st.integers(1, 2_000)) if coupon else 0,
        lines=tuple(lines),
        refunds=tuple(refunds),
    )


@st.composite
def a_cart(draw: st.DrawFn, now: datetime) -> CartSpec:
    created = now - timedelta(minutes=draw(st.integers(0, MINUTES_BACK)))
    updated = min(created + timedelta(minutes=draw(st.integers(0, 3 * 24 * 60))), now)
    return CartSpec(created=created, updated=updated, items=draw(st.integers(0, 3)))


@st.composite
def a_shop(draw: st.DrawFn) -> dict[str, Any]:
    now = draw(st.sampled_from(NOWS)) + timedelta(minutes=draw(st.integers(0, 24 * 60)))
    sign_ups = draw(st.lists(st.integers(0, MINUTES_BACK), min_size=1, max_size=4))
    zone = draw(st.sampled_from(ZONES))
    today = reference.local_date(ZoneInfo(zone), now)
    first = today - timedelta(days=draw(st.integers(0, DAYS_BACK)))
    return {
        "now": now,
        "zone": zone,
        "sign_ups": [now - timedelta(minutes=m) for m in sign_ups],
        "orders": draw(st.lists(an_order(now, len(sign_ups)), max_size=25)),
        "carts": draw(st.lists(a_cart(now), max_size=8)),
        "first": first,
        "last": first + timedelta(days=draw(st.integers(0, 80))),
        "granularity": draw(st.sampled_from(["day", "week", "month"])),
    }


def minor(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount * 100)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shop=a_shop())
async def test_every_figure_reconciles_with_orders_and_ledger(
    ctx: AppContext, settings: AppSettings, shop: dict[str, Any]
) -> None:
    now, zone = shop["now"], ZoneInfo(shop["zone"])
    orders: list[OrderSpec] = shop["orders"]
    carts: list[CartSpec] = shop["carts"]
    local = settings.model_copy(update={"timezone": shop["zone"]})
    async with ctx.db.sessionmaker() as session:
        made = await open_shop(session, shop["sign_ups"])
        for spec in orders:
            await add_order(session, made, spec)
        for cart in carts:
            await add_cart(session, made, cart)
        await session.flush()
        for period in Period:
            stats = await analytics.home(session, local, period, now=now)
            current, previous = reference.home_spans(zone, now, period.days)
            check_figures(stats.figures, reference.figures(orders, carts, current, now), "current")
            check_figures(stats.figures, reference.figures(orders, carts, previous, now), "previous")
            expected = reference.sales_by_label(orders, current, "hour" if period is Period.TODAY else "day")
            check_sales(stats.sales, expected)
            assert sum(row.orders for row in stats.orders_by_status) == sum(
                1 for o in orders if o.placed in current
            )
            top = reference.products(orders, current)
            assert sorted((r.units, minor(r.sales)) for r in stats.top_products) == sorted(
                (u, s) for _, u, s in top.values()
            )
        await check_reports(session, local, shop, made.products)
        await session.rollback()


def check_figures(figures: Any, expected: reference.Figures, which: str) -> None:
    def pick(figure: Any) -> Any:
        return getattr(figure, which)

    assert minor(pick(figures.gross_sales)) == expected.gross
    assert minor(pick(figures.refunds)) == expected.refunded
    assert minor(pick(figures.revenue)) == expected.gross - expected.refunded
    assert pick(figures.orders) == expected.orders
    assert minor(pick(figures.average_order_value)) == expected.average
    assert pick(figures.new_customers) == expected.new_customers
    assert pick(figures.carts_created) == expected.carts
    assert getattr(figures.conversion, f"{which}_percent") == expected.conversion
    assert pick(figures.abandoned_carts) == expected.abandoned


def check_sales(rows: Any, expected: dict[str, tuple[int, int, int, int]]) -> None:
    got = {
        row.label: (row.orders, minor(row.gross_sales), row.refunds, minor(row.refunded))
        for row in rows
        if row.orders or row.refunds
    }
    assert got == expected
    for row in rows:
        assert minor(row.revenue) == minor(row.gross_sales) - minor(row.refunded)  # type: ignore[operator]
        expected_average = reference.half_even(row.gross_sales * 100 / row.orders) if row.orders else None
        assert minor(row.average_order_value) == expected_average


async def check_reports(session: Any, local: AppSettings, shop: dict[str, Any], made: list[Any]) -> None:
    zone, first, last = ZoneInfo(shop["zone"]), shop["first"], shop["last"]
    granularity = Granularity(shop["granularity"])
    orders: list[OrderSpec] = shop["orders"]
    span = reference.range_span(zone, first, last)
    check_sales(
        await analytics.sales(session, local, first, last, granularity),
        reference.sales_by_label(orders, span, granularity),
    )
    ids = {m.product.id: n for n, m in enumerate(made)}
    products = await analytics.product_report(session, local, first, last)
    assert {ids[r.product_id]: (r.orders, r.units, minor(r.sales)) for r in products} == reference.products(
        orders, span
    )
    assert [minor(r.sales) for r in products] == sorted((minor(r.sales) for r in products), reverse=True)
    categories = await analytics.categories(session, local, first, last)
    by_category: dict[str | None, tuple[int, int]] = {}
    for n, (_, units, total) in reference.products(orders, span).items():
        name = ["Tees", "Mugs", None][n]
        by_category[name] = (units, total)
    assert {r.category: (r.units, minor(r.sales)) for r in categories} == by_category
    methods = await analytics.payment_methods(session, local, first, last)
    assert {
        r.payment_method: (r.orders, minor(r.gross_sales), minor(r.refunded)) for r in methods
    } == reference.payment_methods(orders, span)
    coupons = await analytics.coupons(session, local, first, last)
    assert {
        r.code: (r.orders, minor(r.discount), minor(r.gross_sales)) for r in coupons
    } == reference.coupons(orders, span)
    customers = await analytics.customers(session, local, first, last, granularity)
    expected = reference.customers(orders, shop["sign_ups"], span, granularity)
    got = {
        r.label: (
            r.new_customers,
            r.returning_customers,
            r.orders_from_new,
            r.orders_from_returning,
            r.sign_ups,
        )
        for r in customers
        if r.new_customers or r.returning_customers or r.sign_ups
    }
    assert got == expected
    assert [r.label for r in customers] == _labels(first, last, granularity)
    figures = await analytics.range_figures(session, local, first, last, now=shop["now"])
    assert figures.new_customers.current == sum(r.new_customers for r in customers)


def _labels(first: date, last: date, granularity: Granularity) -> list[str]:
    zone = ZoneInfo("UTC")
    labels: list[str] = []
    day = first
    while day <= last:
        text = reference.label(zone, datetime.combine(day, datetime.min.time(), tzinfo=zone), granularity)
        if text not in labels:
            labels.append(text)
        day += timedelta(days=1)
    return labels
