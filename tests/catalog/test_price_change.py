"""Bulk price changes: whole minor units, half up; compare-at prices follow and are dropped when no longer
above the price; refusals for what cannot be a change."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emporium.catalog.price_change import PriceChange
from emporium.core.errors import ValidationFailed


@pytest.mark.parametrize(
    ("mode", "direction", "value", "before", "after"),
    [
        ("percent", "up", "12.5", 999, 1124),  # 1123.875 cents
        ("percent", "up", "10", 995, 1095),  # 1094.5: half up
        ("percent", "down", "10", 995, 896),  # 895.5: half up
        ("percent", "down", "33.33", 300, 200),  # 200.01
        ("amount", "up", "2.50", 1000, 1250),
        ("amount", "down", "0.05", 1000, 995),
    ],
)
def test_prices_change_to_whole_minor_units(
    mode: str, direction: str, value: str, before: int, after: int
) -> None:
    assert PriceChange.parse(mode, direction, value, "USD").price(before) == after


def test_a_currency_without_minor_units_rounds_to_whole_units() -> None:
    change = PriceChange.parse("percent", "up", "15", "JPY")
    assert change.price(999) == 1149  # 1148.85 yen
    with pytest.raises(ValidationFailed):
        PriceChange.parse("amount", "up", "0.5", "JPY")


def test_compare_at_follows_and_is_dropped_when_not_above_the_price() -> None:
    down = PriceChange.parse("amount", "down", "5", "USD")
    assert down.prices(2000, 2500) == (1500, 2000)
    up = PriceChange.parse("percent", "up", "10", "USD")
    assert up.prices(1000, 1001) == (1100, 1101)
    assert up.prices(1000, 1000) == (1100, None)
    assert up.prices(1000, None) == (1100, None)


@pytest.mark.parametrize(
    ("mode", "direction", "value"),
    [
        ("percent", "down", "-5"),
        ("percent", "up", "0"),
        ("percent", "up", "1001"),
        ("percent", "down", "100"),
        ("percent", "up", "1.234"),
        ("percent", "up", "NaN"),
        ("percent", "up", "Infinity"),
        ("percent", "up", "1e9999"),
        ("amount", "up", "10.001"),
        ("amount", "up", "99999999999999999999"),
        ("amount", "up", "ten"),
        ("amount", "sideways", "1"),
        ("double", "up", "1"),
    ],
)
def test_what_cannot_be_a_change_is_refused(mode: str, direction: str, value: str) -> None:
    with pytest.raises(ValidationFailed):
        PriceChange.parse(mode, direction, value, "USD")


def test_a_change_below_zero_or_above_the_largest_price_is_refused() -> None:
    down = PriceChange.parse("amount", "down", "5", "USD")
    down.check(500, 10_000, "USD")
    with pytest.raises(ValidationFailed, match="below zero"):
        down.check(499, 10_000, "USD")
    up = PriceChange.parse("percent", "up", "1000", "USD")
    with pytest.raises(ValidationFailed, match="above"):
        up.check(1, 10**13, "USD")


@given(
    price=st.integers(min_value=0, max_value=10**14),
    basis_points=st.integers(min_value=1, max_value=9999),
    up=st.booleans(),
)
def test_a_percentage_is_the_exact_product_rounded_half_up(price: int, basis_points: int, up: bool) -> None:
    change = PriceChange(mode="percent", direction="up" if up else "down", step=basis_points)
    factor = Decimal(10_000 + basis_points if up else 10_000 - basis_points) / Decimal(10_000)
    exact = (Decimal(price) * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert change.price(price) == int(exact)
    assert change.price(price) >= 0
