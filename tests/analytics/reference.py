"""The figures computed directly from what the factory wrote, in Python, from the definitions in the
analytics package's docstring: no SQL, no bucket arithmetic, only each instant's local date in the zone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from tests.analytics.factory import CartSpec, OrderSpec

ABANDONED_AFTER = timedelta(hours=1)


def local_date(zone: ZoneInfo, instant: datetime) -> date:
    return instant.astimezone(zone).date()


def label(zone: ZoneInfo, instant: datetime, granularity: str) -> str:
    """How the bucket holding the instant is written (periods.buckets' labels)."""
    wall = instant.astimezone(zone)
    day = wall.date()
    if granularity == "hour":
        return f"{day.isoformat()} {wall.hour:02d}:00"
    if granularity == "day":
        return day.isoformat()
    if granularity == "week":
        return f"week of {(day - timedelta(days=day.weekday())).isoformat()}"
    return f"{day.year}-{day.month:02d}"


@dataclass(frozen=True)
class Span:
    """Instants whose local date is from ``first`` to ``last`` and that come before ``before``."""

    zone: ZoneInfo
    first: date
    last: date
    before: datetime

    def __contains__(self, instant: datetime) -> bool:
        return self.first <= local_date(self.zone, instant) <= self.last and instant < self.before


def home_spans(zone: ZoneInfo, now: datetime, days: int) -> tuple[Span, Span]:
    """The period (its days up to now) and the one before: as many days, up to the same wall time."""
    today = local_date(zone, now)
    first = today - timedelta(days=days - 1)
    wall = now.astimezone(zone).replace(tzinfo=None) - timedelta(days=days)
    until = datetime.combine(wall.date(), wall.time(), tzinfo=zone).astimezone(UTC)
    return Span(zone, first, today, now), Span(
        zone, first - timedelta(days=days), first - timedelta(days=1), until
    )


def range_span(zone: ZoneInfo, first: date, last: date) -> Span:
    return Span(zone, first, last, datetime.max.replace(tzinfo=UTC))


def sales(orders: Iterable[OrderSpec]) -> list[OrderSpec]:
    return [o for o in orders if o.is_sale]


def refunds(orders: Iterable[OrderSpec]) -> list[tuple[OrderSpec, datetime, int]]:
    return [(o, when, amount) for o in sales(orders) for when, amount, ok in o.refunds if ok]


def first_sales(orders: Sequence[OrderSpec]) -> dict[str, datetime]:
    firsts: dict[str, datetime] = {}
    for o in sales(orders):
        firsts[o.customer_key] = min(o.placed, firsts.get(o.customer_key, o.placed))
    return firsts


def half_even(value: Decimal, places: str = "1") -> Decimal:
    return value.quantize(Decimal(places), ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Figures:
    gross: int
    refunded: int
    orders: int
    average: int | None
    new_customers: int
    carts: int
    conversion: Decimal | None
    abandoned: int


def figures(orders: Sequence[OrderSpec], carts: Sequence[CartSpec], span: Span, now: datetime) -> Figures:
    placed = [o for o in sales(orders) if o.placed in span]
    gross = sum(o.total_minor for o in placed)
    made = sum(1 for c in carts if c.created in span)
    abandoned = sum(1 for c in carts if c.items and c.updated in span and c.updated < now - ABANDONED_AFTER)
    return Figures(
        gross=gross,
        refunded=sum(amount for _, when, amount in refunds(orders) if when in span),
        orders=len(placed),
        average=int(half_even(Decimal(gross) / len(placed))) if placed else None,
        new_customers=sum(1 for first in first_sales(orders).values() if first in span),
        carts=made,
        conversion=half_even(Decimal(len(placed)) * 100 / made, "0.01") if made else None,
        abandoned=abandoned,
    )


def sales_by_label(
    orders: Sequence[OrderSpec], span: Span, granularity: str
) -> dict[str, tuple[int, int, int, int]]:
    """Per bucket label: (orders, gross, refunds, refunded)."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for o in sales(orders):
        if o.placed in span:
            row = found[label(span.zone, o.placed, granularity)]
            row[0], row[1] = row[0] + 1, row[1] + o.total_minor
    for _, when, amount in refunds(orders):
        if when in span:
            row = found[label(span.zone, when, granularity)]
            row[2], row[3] = row[2] + 1, row[3] + amount
    return {key: (a, b, c, d) for key, (a, b, c, d) in found.items()}


def products(orders: Sequence[OrderSpec], span: Span) -> dict[int, tuple[int, int, int]]:
    """Per product index: (orders, units, line totals)."""
    found: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for o in sales(orders):
        if o.placed not in span:
            continue
        for product in {line.product for line in o.lines}:
            found[product][0] += 1
        for line in o.lines:
            found[line.product][1] += line.quantity
            found[line.product][2] += line.total_minor
    return {key: (a, b, c) for key, (a, b, c) in found.items()}


def payment_methods(orders: Sequence[OrderSpec], span: Span) -> dict[str, tuple[int, int, int]]:
    """Per payment method: (orders, gross, refunded)."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for o in sales(orders):
        if o.placed in span:
            found[o.payment_method][0] += 1
            found[o.payment_method][1] += o.total_minor
    for o, when, amount in refunds(orders):
        if when in span:
            found[o.payment_method][2] += amount
    return {key: (a, b, c) for key, (a, b, c) in found.items()}


def coupons(orders: Sequence[OrderSpec], span: Span) -> dict[str, tuple[int, int, int]]:
    """Per coupon code: (orders, discount, gross)."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for o in sales(orders):
        if o.placed in span and o.coupon is not None:
            row = found[o.coupon]
            row[0], row[1], row[2] = row[0] + 1, row[1] + o.discount_minor, row[2] + o.total_minor
    return {key: (a, b, c) for key, (a, b, c) in found.items()}


def customers(
    orders: Sequence[OrderSpec], sign_ups: Sequence[datetime], span: Span, granularity: str
) -> dict[str, tuple[int, int, int, int, int]]:
    """Per bucket label: (new customers, returning customers, their orders, sign-ups). A customer is new
    in a bucket when their first sale ever is in the range and in that bucket."""
    firsts = first_sales(orders)
    new: dict[str, set[str]] = defaultdict(set)
    returning: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for o in sales(orders):
        if o.placed not in span:
            continue
        key = label(span.zone, o.placed, granularity)
        first = firsts[o.customer_key]
        if first in span and label(span.zone, first, granularity) == key:
            new[key].add(o.customer_key)
            counts[key][0] += 1
        else:
            returning[key].add(o.customer_key)
            counts[key][1] += 1
    for when in sign_ups:
        if when in span:
            counts[label(span.zone, when, granularity)][2] += 1
    return {
        key: (len(new[key]), len(returning[key]), counts[key][0], counts[key][1], counts[key][2])
        for key in counts
    }
