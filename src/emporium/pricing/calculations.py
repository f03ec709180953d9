"""Order totals from lines, a coupon, shipping terms and a tax rate: pure, exact integer arithmetic.

Rules (docs/decisions.md, "How totals are computed"):
- subtotal = sum of unit price x quantity.
- A coupon discounts only its eligible lines (all lines when it names no product or category). A percentage
  is taken per line and rounded half to even; a fixed amount is capped at the eligible subtotal and spread
  over the eligible lines in proportion to their subtotals by largest remainder, so the parts add up exactly.
  A free-shipping coupon makes shipping 0.
- Shipping: flat rate and pick-up cost their price; "free above" is free when subtotal - discount reaches
  the threshold; "by weight" costs its price plus the per-kilogram price for every started kilogram.
- Tax is computed per line on (line subtotal - line discount), rounded half to even. Tax-exclusive prices
  get it added; tax-inclusive prices already hold it, so it is extracted (base x rate / (1 + rate)).
  Shipping is not taxed.
- total = subtotal - discount + shipping (+ tax when prices exclude it); never negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from emporium.pricing.models import PPM, CouponKind, ShippingKind


@dataclass(frozen=True)
class PricedLine:
    variant_id: int
    product_id: int
    # The product's category path ("/1/5/"), for coupons restricted to categories and their descendants.
    category_path: str | None
    unit_price_minor: int
    quantity: int
    weight_grams: int | None = None

    @property
    def subtotal_minor(self) -> int:
        return self.unit_price_minor * self.quantity


@dataclass(frozen=True)
class CouponTerms:
    code: str
    kind: CouponKind
    percent_off_ppm: int | None = None
    amount_off_minor: int | None = None
    product_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()

    def applies_to(self, line: PricedLine) -> bool:
        if not self.product_ids and not self.category_ids:
            return True
        if line.product_id in self.product_ids:
            return True
        path_ids = {int(part) for part in (line.category_path or "").split("/") if part.isdigit()}
        return bool(path_ids & self.category_ids)


@dataclass(frozen=True)
class ShippingTerms:
    kind: ShippingKind
    price_minor: int
    free_above_minor: int | None = None
    per_kg_minor: int | None = None


@dataclass(frozen=True)
class LineTotals:
    variant_id: int
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int


@dataclass(frozen=True)
class Totals:
    lines: tuple[LineTotals, ...]
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    tax_minor: int
    total_minor: int


def _round_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator (both non-negative) rounded half to even, in exact integers."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        return quotient + 1
    return quotient


def _percentage_off(lines: Sequence[PricedLine], eligible: list[int], rate_ppm: int) -> dict[int, int]:
    """Each eligible line's own share: its subtotal times the rate, rounded half to even."""
    return {
        i: min(lines[i].subtotal_minor, _round_half_even(lines[i].subtotal_minor * rate_ppm, PPM))
        for i in eligible
    }


def _amount_off(lines: Sequence[PricedLine], eligible: list[int], amount_off: int) -> dict[int, int]:
    """A fixed amount spread over the eligible lines by their subtotals, to the minor unit: largest
    remainder, so the shares add up to the amount exactly."""
    base = sum(lines[i].subtotal_minor for i in eligible)
    amount = min(amount_off, base)
    if amount <= 0 or base <= 0:
        return {}
    # Floor shares first, then one more minor unit to the lines with the largest rests.
    shares = {i: divmod(amount * lines[i].subtotal_minor, base) for i in eligible}
    discounts = {i: floor for i, (floor, _) in shares.items()}
    left = amount - sum(discounts.values())
    for i in sorted(eligible, key=lambda i: (-shares[i][1], i))[:left]:
        discounts[i] += 1
    return discounts


def line_discounts(lines: Sequence[PricedLine], coupon: CouponTerms | None) -> list[int]:
    discounts = [0] * len(lines)
    if coupon is None or coupon.kind == CouponKind.FREE_SHIPPING:
        return discounts
    eligible = [i for i, line in enumerate(lines) if coupon.applies_to(line)]
    if coupon.kind == CouponKind.PERCENTAGE:
        shares = _percentage_off(lines, eligible, coupon.percent_off_ppm or 0)
    else:
        shares = _amount_off(lines, eligible, coupon.amount_off_minor or 0)
    for i, share in shares.items():
        discounts[i] = share
    return discounts


def shipping_cost(
    shipping: ShippingTerms | None, lines: Sequence[PricedLine], discounted_subtotal: int
) -> int:
    if shipping is None:
        return 0
    if shipping.kind == ShippingKind.FREE_ABOVE:
        threshold = shipping.free_above_minor
        return 0 if threshold is not None and discounted_subtotal >= threshold else shipping.price_minor
    if shipping.kind == ShippingKind.BY_WEIGHT:
        grams = sum((line.weight_grams or 0) * line.quantity for line in lines)
        started_kilograms = -(-grams // 1000)
        return shipping.price_minor + (shipping.per_kg_minor or 0) * started_kilograms
    return shipping.price_minor


def line_tax(base_minor: int, rate_ppm: int, *, prices_include_tax: bool) -> int:
    if base_minor <= 0 or rate_ppm <= 0:
        return 0
    if prices_include_tax:
        return _round_half_even(base_minor * rate_ppm, PPM + rate_ppm)
    return _round_half_even(base_minor * rate_ppm, PPM)


def compute_totals(
    lines: Sequence[PricedLine],
    *,
    coupon: CouponTerms | None,
    shipping: ShippingTerms | None,
    tax_rate_ppm: int,
    prices_include_tax: bool,
) -> Totals:
    discounts = line_discounts(lines, coupon)
    line_totals = []
    for line, discount in zip(lines, discounts, strict=True):
        base = line.subtotal_minor - discount
        tax = line_tax(base, tax_rate_ppm, prices_include_tax=prices_include_tax)
        line_totals.append(
            LineTotals(
                variant_id=line.variant_id,
                subtotal_minor=line.subtotal_minor,
                discount_minor=discount,
                tax_minor=tax,
                total_minor=base if prices_include_tax else base + tax,
            )
        )
    subtotal = sum(t.subtotal_minor for t in line_totals)
    discount = sum(t.discount_minor for t in line_totals)
    tax = sum(t.tax_minor for t in line_totals)
    free_shipping = coupon is not None and coupon.kind == CouponKind.FREE_SHIPPING
    shipping_minor = 0 if free_shipping else shipping_cost(shipping, lines, subtotal - discount)
    total = subtotal - discount + shipping_minor + (0 if prices_include_tax else tax)
    return Totals(
        lines=tuple(line_totals),
        subtotal_minor=subtotal,
        discount_minor=discount,
        shipping_minor=shipping_minor,
        tax_minor=tax,
        total_minor=max(total, 0),
    )


def percent_to_ppm(percent: Decimal) -> int:
    """ "12.5" (per cent) -> 125_000 parts per million; refuses more than four decimal places."""
    scaled = percent * 10_000
    if scaled != scaled.to_integral_value(rounding=ROUND_HALF_EVEN):
        raise ValueError("at most four decimal places")
    return int(scaled)


def ppm_to_percent(ppm: int) -> Decimal:
    return (Decimal(ppm) / 10_000).normalize()
