"""Shipping, tax, coupons and carts made straight through the models, so the order tests need neither the
pricing admin API nor the cart API."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.cart.models import Cart, CartItem
from emporium.cart.service import token_digest
from emporium.catalog.models import ProductVariant
from emporium.core.db import utcnow
from emporium.core.money import to_minor
from emporium.pricing.models import Coupon, ShippingMethod, ShippingZone, TaxRate

ADDRESS: dict[str, Any] = {
    "full_name": "Grace Hopper",
    "phone": "+1 202 555 0143",
    "line1": "1 Navy Yard",
    "city": "Arlington",
    "region": "VA",
    "postal_code": "22202",
    "country": "US",
}
GUEST: dict[str, Any] = {"name": "Grace Hopper", "phone": "+1 (202) 555-0143", "email": "grace@example.com"}


def usd(amount: str) -> int:
    return to_minor(Decimal(amount), "USD")


async def make_shipping(
    session: AsyncSession,
    *,
    countries: Sequence[str] = ("US",),
    kind: str = "flat_rate",
    price: str = "5.00",
    name: str | None = None,
    **terms: Any,
) -> ShippingMethod:
    zone = ShippingZone(name=f"Zone {secrets.token_hex(4)}", countries=list(countries))
    session.add(zone)
    await session.flush()
    method = ShippingMethod(
        zone_id=zone.id, name=name or f"{kind} {zone.name}", kind=kind, price_minor=usd(price), **terms
    )
    session.add(method)
    await session.flush()
    return method


async def make_tax(session: AsyncSession, country: str, percent: str, region: str = "") -> TaxRate:
    rate = TaxRate(
        country=country, region=region, name=f"Tax {country}", rate_ppm=int(Decimal(percent) * 10_000)
    )
    session.add(rate)
    await session.flush()
    return rate


async def make_coupon(session: AsyncSession, code: str, **terms: Any) -> Coupon:
    values: dict[str, Any] = {"kind": "percentage", "percent_off_ppm": 100_000}
    values.update(terms)
    coupon = Coupon(code=code.upper(), **values)
    session.add(coupon)
    await session.flush()
    return coupon


async def make_cart(
    session: AsyncSession,
    items: Sequence[tuple[ProductVariant, int]],
    *,
    user_id: int | None = None,
    coupon_code: str | None = None,
) -> str:
    """A cart holding ``items``; the guest token (or "" for a customer's cart)."""
    token = "" if user_id else secrets.token_urlsafe(32)
    cart = (
        (await session.execute(select(Cart).where(Cart.user_id == user_id))).scalar_one_or_none()
        if user_id
        else None
    )
    if cart is None:
        cart = Cart(
            user_id=user_id,
            token_hash=None if user_id else token_digest(token),
            expires_at=utcnow() + timedelta(days=7),
        )
        session.add(cart)
    cart.coupon_code = coupon_code
    await session.flush()
    session.add_all(
        CartItem(cart_id=cart.id, variant_id=v.id, quantity=q, price_seen_minor=v.price_minor)
        for v, q in items
    )
    await session.flush()
    return token


def order_body(shipping_method_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "shipping_address": ADDRESS,
        "shipping_method_id": shipping_method_id,
        "payment_method": "test",
        "guest": GUEST,
    }
    body.update(overrides)
    return body
