"""What orders are made of, read back from the database after the catalog and pricing are loaded: the
variants (with a popularity each), shipping methods by country, tax rates and coupons."""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from backoffice_seed.common import as_json
from emporium.pricing.calculations import CouponTerms, PricedLine, ShippingTerms
from emporium.pricing.models import CouponKind, ShippingKind


@dataclass(frozen=True)
class Variant:
    id: int
    product_id: int
    pool_id: int
    product_name: str
    name: str
    sku: str
    options: str  # the JSON text, copied into order lines as it is
    price_minor: int
    draw: int
    weight_grams: int | None
    category_path: str | None

    def line(self, quantity: int) -> PricedLine:
        return PricedLine(
            variant_id=self.id,
            product_id=self.product_id,
            category_path=self.category_path,
            unit_price_minor=self.price_minor,
            quantity=quantity,
            weight_grams=self.weight_grams,
        )


@dataclass(frozen=True)
class Method:
    id: int
    name: str
    terms: ShippingTerms


@dataclass
class Coupon:
    id: int
    code: str
    kind: str
    percent_off_ppm: int | None
    amount_off_minor: int | None
    min_subtotal_minor: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    product_ids: list[int]
    category_ids: list[int]
    is_active: bool
    # Redemptions kept (an order cancelled before it was paid gives its use back).
    used: int = 0

    def valid_at(self, moment: datetime) -> bool:
        if not self.is_active or (self.usage_limit is not None and self.used >= self.usage_limit):
            return False
        return (self.starts_at is None or self.starts_at <= moment) and (
            self.ends_at is None or moment < self.ends_at
        )

    def terms(self) -> CouponTerms:
        return CouponTerms(
            code=self.code,
            kind=CouponKind(self.kind),
            percent_off_ppm=self.percent_off_ppm,
            amount_off_minor=self.amount_off_minor,
            product_ids=frozenset(self.product_ids),
            category_ids=frozenset(self.category_ids),
        )


def _black_friday(now: datetime) -> date:
    """The most recent Black Friday (the fourth Friday of November) on or before ``now``."""
    for year in (now.year, now.year - 1):
        first = date(year, 11, 1)
        friday = first + timedelta(days=(4 - first.weekday()) % 7 + 21)
        if friday <= now.date():
            return friday
    raise AssertionError("unreachable")


async def add_coupons(conn: Any, now: datetime) -> None:
    """Seasonal and targeted coupons beside the demo's three, some of them over; the demo's date back to the
    shop's opening."""
    categories = {row["name"]: row["id"] for row in await conn.fetch("SELECT id, name FROM categories")}
    opened = now - timedelta(days=800)
    await conn.execute("UPDATE coupons SET created_at = $1, updated_at = $1", opened)
    bf = datetime.combine(_black_friday(now), datetime.min.time(), tzinfo=now.tzinfo)

    def coupon(
        code: str, description: str, starts: datetime, days: int | None, **terms: Any
    ) -> dict[str, Any]:
        made = {
            "code": code,
            "description": description,
            "kind": "percentage",
            "percent_off_ppm": None,
            "amount_off_minor": None,
            "min_subtotal_minor": None,
            "starts_at": starts,
            "ends_at": starts + timedelta(days=days) if days else None,
            "usage_limit": None,
            "per_customer_limit": None,
            "used_count": 0,
            "product_ids": "[]",
            "category_ids": "[]",
            "is_active": True,
            "created_at": starts - timedelta(days=7),
            "updated_at": starts - timedelta(days=7),
        }
        made.update(terms)
        return made

    days = timedelta(days=1)
    extra = [
        coupon("SPRING15", "15 % off in spring", now - 330 * days, 30, percent_off_ppm=150_000),
        coupon(
            "SUMMER20",
            "20 % off, summer sale",
            now - 240 * days,
            21,
            percent_off_ppm=200_000,
            usage_limit=1500,
        ),
        coupon(
            "BACK2SCHOOL",
            "10.00 off orders from 60.00",
            now - 200 * days,
            30,
            kind="fixed_amount",
            amount_off_minor=1000,
            min_subtotal_minor=6000,
        ),
        coupon("BLACKFRIDAY25", "Black Friday: 25 % off", bf, 4, percent_off_ppm=250_000),
        coupon(
            "SWEETTOOTH10",
            "10 % off the sweet shop",
            now - 365 * days,
            None,
            percent_off_ppm=100_000,
            category_ids=as_json([categories["Sweet Shop"]]),
        ),
        coupon("VIP30", "30 % off for our best customers", now - 150 * days, None, percent_off_ppm=300_000)
        | {"usage_limit": 300},
        coupon(
            "HEADPHONES15",
            "15 % off headphones",
            now - 90 * days,
            None,
            percent_off_ppm=150_000,
            category_ids=as_json([categories["Headphones"]]),
        ),
        coupon(
            "TRYUS5", "5.00 off, withdrawn", now - 20 * days, None, kind="fixed_amount", amount_off_minor=500
        )
        | {"is_active": False},
    ]
    columns = list(extra[0])
    await conn.copy_records_to_table(
        "coupons", records=[tuple(c[name] for name in columns) for c in extra], columns=columns
    )


class Shop:
    """The catalog and pricing the orders are made from."""

    def __init__(self) -> None:
        self.variants: list[Variant] = []
        self._cumulative: list[float] = []
        self.on_hand: dict[int, int] = {}
        self.methods: dict[str, list[Method]] = {}
        self.rest_of_world: list[Method] = []
        self.tax: dict[tuple[str, str], int] = {}
        self.coupons: list[Coupon] = []

    @classmethod
    async def load(cls, conn: Any, rng: random.Random) -> Shop:
        shop = cls()
        rows = await conn.fetch(
            "SELECT v.id, v.product_id, v.pool_id, p.name AS product_name, v.name, v.sku, "
            "v.options::text AS options, v.price_minor, v.draw_per_unit, v.weight_grams, c.path "
            "FROM product_variants v JOIN products p ON p.id = v.product_id "
            "LEFT JOIN categories c ON c.id = p.category_id "
            "WHERE p.status = 'active' AND v.is_active ORDER BY v.id"
        )
        shop.variants = [Variant(*row) for row in rows]
        # Sales follow a long tail: a few products sell often, most now and then.
        products = sorted({v.product_id for v in shop.variants})
        rng.shuffle(products)
        popularity = {pid: 1.0 / (rank + 20) ** 0.9 for rank, pid in enumerate(products)}
        per_product: dict[int, int] = {}
        for v in shop.variants:
            per_product[v.product_id] = per_product.get(v.product_id, 0) + 1
        weights = [popularity[v.product_id] / per_product[v.product_id] for v in shop.variants]
        shop._cumulative = list(itertools.accumulate(weights))
        shop.on_hand = {row[0]: row[1] for row in await conn.fetch("SELECT id, on_hand FROM stock_pools")}
        await shop._load_pricing(conn)
        return shop

    async def _load_pricing(self, conn: Any) -> None:
        methods = await conn.fetch(
            "SELECT m.id, m.name, m.kind, m.price_minor, m.free_above_minor, m.per_kg_minor, "
            "z.countries::text AS countries FROM shipping_methods m "
            "JOIN shipping_zones z ON z.id = m.zone_id WHERE m.is_active ORDER BY m.position, m.id"
        )
        for row in methods:
            method = Method(
                row["id"],
                row["name"],
                ShippingTerms(
                    ShippingKind(row["kind"]),
                    row["price_minor"],
                    row["free_above_minor"],
                    row["per_kg_minor"],
                ),
            )
            countries = [c.strip('" ') for c in row["countries"].strip("[]").split(",")]
            for country in countries:
                if country == "*":
                    self.rest_of_world.append(method)
                else:
                    self.methods.setdefault(country, []).append(method)
        for row in await conn.fetch("SELECT country, region, rate_ppm FROM tax_rates"):
            self.tax[(row["country"], row["region"])] = row["rate_ppm"]
        coupons = await conn.fetch(
            "SELECT id, code, kind, percent_off_ppm, amount_off_minor, min_subtotal_minor, starts_at, "
            "ends_at, usage_limit, per_customer_limit, product_ids::text AS product_ids, "
            "category_ids::text AS category_ids, is_active FROM coupons ORDER BY id"
        )
        for row in coupons:
            values = dict(row)
            values["product_ids"] = _ids(values["product_ids"])
            values["category_ids"] = _ids(values["category_ids"])
            self.coupons.append(Coupon(**values))

    def pick(self, rng: random.Random, count: int) -> list[Variant]:
        """``count`` different variants, the popular ones more often."""
        chosen: dict[int, Variant] = {}
        total = self._cumulative[-1]
        while len(chosen) < count:
            index = bisect.bisect_left(self._cumulative, rng.random() * total)
            variant = self.variants[min(index, len(self.variants) - 1)]
            chosen.setdefault(variant.id, variant)
        return list(chosen.values())

    def methods_for(self, country: str) -> list[Method]:
        return self.methods.get(country) or self.rest_of_world

    def tax_rate(self, country: str, region: str | None) -> int:
        found = self.tax.get((country, region or ""))
        return found if found is not None else self.tax.get((country, ""), 0)


def _ids(text: str) -> list[int]:
    inner = text.strip("[] ")
    return [int(part) for part in inner.split(",")] if inner else []
