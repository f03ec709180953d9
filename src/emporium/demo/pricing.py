"""Demo pricing for a new shop: coupons, tax rates and shipping zones a shopper can try at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.pricing.models import Coupon, ShippingMethod, ShippingZone, TaxRate

COUPONS: list[dict[str, Any]] = [
    {
        "code": "WELCOME10",
        "description": "10 % off your first order",
        "kind": "percentage",
        "percent_off_ppm": 100_000,
        "per_customer_limit": 1,
    },
    {
        "code": "SAVE5",
        "description": "5.00 off orders from 50.00",
        "kind": "fixed_amount",
        "amount_off_minor": 500,
        "min_subtotal_minor": 5000,
    },
    {"code": "FREESHIP", "description": "Free shipping", "kind": "free_shipping"},
]
# (country, region, name, rate in parts per million)
TAX_RATES = [
    ("US", "", "No sales tax", 0),
    ("US", "CA", "California sales tax", 72_500),
    ("US", "NY", "New York sales tax", 88_750),
    ("US", "TX", "Texas sales tax", 62_500),
    ("GB", "", "UK VAT", 200_000),
    ("DE", "", "German VAT", 190_000),
    ("FR", "", "French VAT", 200_000),
    ("IN", "", "GST", 180_000),
]
# zone name, countries, [(method name, kind, price, free above, per kg, details)]
ZONES: list[tuple[str, list[str], list[tuple[str, str, int, int | None, int | None, dict[str, str]]]]] = [
    (
        "United States",
        ["US"],
        [
            ("Standard (3-5 days)", "free_above", 599, 7500, None, {}),
            ("Express (1-2 days)", "flat_rate", 1999, None, None, {}),
            (
                "Pick up in store",
                "pickup",
                0,
                None,
                None,
                {"address": "1 Market Street, San Francisco", "hours": "Mon-Sat 10:00-19:00"},
            ),
        ],
    ),
    (
        "Europe",
        ["GB", "DE", "FR", "NL", "ES", "IT", "IE", "BE", "AT", "SE", "DK", "PL"],
        [
            ("Standard", "free_above", 799, 9000, None, {}),
            ("By weight", "by_weight", 499, None, 250, {}),
        ],
    ),
    (
        "India",
        ["IN"],
        [
            ("Standard", "flat_rate", 399, None, None, {}),
        ],
    ),
    (
        "Rest of the world",
        ["*"],
        [
            ("International", "by_weight", 1499, None, 500, {}),
        ],
    ),
]


async def load_demo_pricing(session: AsyncSession) -> None:
    """Add the demo coupons, tax rates and shipping zones (the caller makes sure it runs once)."""
    session.add_all(Coupon(used_count=0, **values) for values in COUPONS)
    session.add_all(
        TaxRate(country=country, region=region, name=name, rate_ppm=rate)
        for country, region, name, rate in TAX_RATES
    )
    for position, (zone_name, countries, methods) in enumerate(ZONES):
        zone = ShippingZone(name=zone_name, countries=countries)
        session.add(zone)
        await session.flush()
        session.add_all(
            ShippingMethod(
                zone_id=zone.id,
                name=name,
                kind=kind,
                price_minor=price,
                free_above_minor=free_above,
                per_kg_minor=per_kg,
                details=details,
                position=position * 10 + i,
            )
            for i, (name, kind, price, free_above, per_kg, details) in enumerate(methods)
        )
    await session.flush()
