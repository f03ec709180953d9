"""Totals are exact integers, never negative, and equal the sum of their parts, whatever the cart."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emporium.pricing.calculations import (
    CouponTerms,
    PricedLine,
    ShippingTerms,
    compute_totals,
    line_discounts,
    line_tax,
    percent_to_ppm,
    ppm_to_percent,
    shipping_cost,
)
from emporium.pricing.models import CouponKind, ShippingKind


def _line(variant_id: int, price: int, quantity: int, **kw: object) -> PricedLine:
    return PricedLine(
        variant_id=variant_id,
        product_id=variant_id,
        category_path=None,
        unit_price_minor=price,
        quantity=quantity,
        **kw,
    )  # type: ignore[arg-type]


lines_strategy = st.lists(
    st.builds(
        PricedLine,
        variant_id=st.integers(1, 10_000),
        product_id=st.integers(1, 20),
        category_path=st.sampled_from([None, "/1/", "/1/5/", "/2/", "/2/7/9/"]),
        unit_price_minor=st.integers(0, 5_000_000),
        quantity=st.integers(1, 999),
        weight_grams=st.one_of(st.none(), st.integers(0, 20_000)),
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda line: line.variant_id,
)
coupon_strategy = st.one_of(
    st.none(),
    st.builds(
        CouponTerms,
        code=st.just("C"),
        kind=st.just(CouponKind.PERCENTAGE),
        percent_off_ppm=st.integers(1, 1_000_000),
        product_ids=st.frozensets(st.integers(1, 20), max_size=3),
        category_ids=st.frozensets(st.integers(1, 9), max_size=2),
    ),
    st.builds(
        CouponTerms,
        code=st.just("C"),
        kind=st.just(CouponKind.FIXED_AMOUNT),
        amount_off_minor=st.integers(1, 10**10),
        product_ids=st.frozensets(st.integers(1, 20), max_size=3),
        category_ids=st.frozensets(st.integers(1, 9), max_size=2),
    ),
    st.builds(CouponTerms, code=st.just("C"), kind=st.just(CouponKind.FREE_SHIPPING)),
)
shipping_strategy = st.one_of(
    st.none(),
    st.builds(
        ShippingTerms,
        kind=st.sampled_from(list(ShippingKind)),
        price_minor=st.integers(0, 100_000),
        free_above_minor=st.one_of(st.none(), st.integers(0, 10**8)),
        per_kg_minor=st.one_of(st.none(), st.integers(0, 10_000)),
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    lines=lines_strategy,
    coupon=coupon_strategy,
    shipping=shipping_strategy,
    rate=st.integers(0, 300_000),
    inclusive=st.booleans(),
)
def test_totals_are_exact_and_add_up(
    lines: list[PricedLine],
    coupon: CouponTerms | None,
    shipping: ShippingTerms | None,
    rate: int,
    inclusive: bool,
) -> None:
    totals = compute_totals(
        lines, coupon=coupon, shipping=shipping, tax_rate_ppm=rate, prices_include_tax=inclusive
    )
    amounts = [
        totals.subtotal_minor,
        totals.discount_minor,
        totals.shipping_minor,
        totals.tax_minor,
        totals.total_minor,
    ]
    assert all(isinstance(a, int) and a >= 0 for a in amounts)
    assert totals.subtotal_minor == sum(line.unit_price_minor * line.quantity for line in lines)
    assert totals.subtotal_minor == sum(t.subtotal_minor for t in totals.lines)
    assert totals.discount_minor == sum(t.discount_minor for t in totals.lines)
    assert totals.tax_minor == sum(t.tax_minor for t in totals.lines)
    assert totals.discount_minor <= totals.subtotal_minor
    added_tax = 0 if inclusive else totals.tax_minor
    assert (
        totals.total_minor
        == totals.subtotal_minor - totals.discount_minor + totals.shipping_minor + added_tax
    )
    assert sum(t.total_minor for t in totals.lines) + totals.shipping_minor == totals.total_minor
    for line, line_totals in zip(lines, totals.lines, strict=True):
        assert 0 <= line_totals.discount_minor <= line_totals.subtotal_minor
        if coupon is not None and not coupon.applies_to(line):
            assert line_totals.discount_minor == 0
        if inclusive:
            assert line_totals.tax_minor <= line_totals.subtotal_minor - line_totals.discount_minor
    if coupon is not None and coupon.kind == CouponKind.FIXED_AMOUNT:
        eligible = sum(line.subtotal_minor for line in lines if coupon.applies_to(line))
        assert totals.discount_minor == min(coupon.amount_off_minor or 0, eligible)
    if coupon is not None and coupon.kind == CouponKind.FREE_SHIPPING:
        assert totals.shipping_minor == 0


@settings(max_examples=300, deadline=None)
@given(base=st.integers(0, 10**12), rate=st.integers(0, 1_000_000))
def test_tax_rounds_half_to_even_like_decimal(base: int, rate: int) -> None:
    expected = (Decimal(base) * Decimal(rate) / Decimal(1_000_000)).quantize(
        Decimal(1), rounding=ROUND_HALF_EVEN
    )
    assert line_tax(base, rate, prices_include_tax=False) == int(expected)
    inclusive = (Decimal(base) * Decimal(rate) / Decimal(1_000_000 + rate)).quantize(
        Decimal(1), rounding=ROUND_HALF_EVEN
    )
    assert line_tax(base, rate, prices_include_tax=True) == int(inclusive)


@pytest.mark.parametrize(
    ("base", "rate", "inclusive", "tax"),
    [
        (1050, 100_000, False, 105),  # 10 % of 10.50 = 1.05
        (25, 100_000, False, 2),  # 0.025 -> 0.02 (half to even)
        (35, 100_000, False, 4),  # 0.035 -> 0.04 (half to even)
        (11900, 190_000, True, 1900),  # 119.00 with 19 % included holds 19.00
        (1000, 0, False, 0),
        (0, 200_000, False, 0),
    ],
)
def test_tax_cases(base: int, rate: int, inclusive: bool, tax: int) -> None:
    assert line_tax(base, rate, prices_include_tax=inclusive) == tax


def test_a_fixed_amount_is_spread_exactly_by_largest_remainder() -> None:
    lines = [_line(1, 100, 1), _line(2, 100, 1), _line(3, 100, 1)]
    coupon = CouponTerms(code="TEN", kind=CouponKind.FIXED_AMOUNT, amount_off_minor=100)
    assert line_discounts(lines, coupon) == [34, 33, 33]
    assert (
        sum(
            line_discounts(lines, CouponTerms(code="X", kind=CouponKind.FIXED_AMOUNT, amount_off_minor=10**9))
        )
        == 300
    )


def test_coupons_restricted_to_a_category_include_its_descendants() -> None:
    coupon = CouponTerms(
        code="SWEETS", kind=CouponKind.PERCENTAGE, percent_off_ppm=500_000, category_ids=frozenset({5})
    )
    inside = PricedLine(1, 1, "/1/5/12/", 1000, 1)
    outside = PricedLine(2, 2, "/1/6/", 1000, 1)
    assert line_discounts([inside, outside], coupon) == [500, 0]


@pytest.mark.parametrize(
    ("terms", "grams", "subtotal", "cost"),
    [
        (ShippingTerms(ShippingKind.FLAT_RATE, 500), 0, 100, 500),
        (ShippingTerms(ShippingKind.FREE_ABOVE, 500, free_above_minor=5000), 0, 4999, 500),
        (ShippingTerms(ShippingKind.FREE_ABOVE, 500, free_above_minor=5000), 0, 5000, 0),
        (ShippingTerms(ShippingKind.BY_WEIGHT, 300, per_kg_minor=200), 2001, 0, 900),  # 3 started kilograms
        (ShippingTerms(ShippingKind.BY_WEIGHT, 300, per_kg_minor=200), 0, 0, 300),
        (ShippingTerms(ShippingKind.PICKUP, 0), 5000, 0, 0),
    ],
)
def test_shipping_costs(terms: ShippingTerms, grams: int, subtotal: int, cost: int) -> None:
    lines = [_line(1, 1, 1, weight_grams=grams)]
    assert shipping_cost(terms, lines, subtotal) == cost


def test_percent_conversions_are_exact() -> None:
    assert percent_to_ppm(Decimal("8.875")) == 88_750
    assert ppm_to_percent(88_750) == Decimal("8.875")
    with pytest.raises(ValueError, match="decimal places"):
        percent_to_ppm(Decimal("1.23456"))
