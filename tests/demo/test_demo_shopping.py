"""The demo shop can be shopped at once: coupons, tax and shipping are there, loaded once."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import httpx
from sqlalchemy import func, select

from emporium.catalog.models import Product, ProductVariant
from emporium.core.context import AppContext
from emporium.demo.service import load_demo
from emporium.pricing.models import Coupon, ShippingMethod
from tests.orders.factory import ADDRESS, GUEST
from tests.support import data


async def test_a_guest_buys_sweets_from_the_demo_shop(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await load_demo(ctx, images=False)
    await load_demo(ctx, images=False)
    async with ctx.db.session() as session:
        assert (await session.execute(select(func.count()).select_from(Coupon))).scalar_one() == 3
        box = (
            await session.execute(
                select(ProductVariant)
                .join(Product, Product.id == ProductVariant.product_id)
                .where(Product.slug == "gulab-jamun", ProductVariant.draw_per_unit == 500)
            )
        ).scalar_one()
        express = (
            await session.execute(select(ShippingMethod).where(ShippingMethod.name == "Express (1-2 days)"))
        ).scalar_one()

    added = await client.post("/api/v1/cart/items", json={"variant_id": box.id, "quantity": 2})
    token = added.headers["X-Cart-Token"]
    headers = {"X-Cart-Token": token}
    data(await client.post("/api/v1/cart/coupon", json={"code": "welcome10"}, headers=headers))
    options = data(await client.get("/api/v1/cart/shipping-options?country=US", headers=headers))
    assert "Pick up in store" in [o["name"] for o in options]

    body = {
        "shipping_address": {**ADDRESS, "region": "NY"},
        "shipping_method_id": express.id,
        "payment_method": "cash_on_delivery",
        "guest": GUEST,
    }
    order = data(await client.post("/api/v1/orders", json=body, headers=headers), 201)
    totals = order["totals"]
    assert order["coupon_code"] == "WELCOME10"
    assert totals["shipping"] == "19.99"
    subtotal = Decimal(2 * box.price_minor) / 100
    assert totals["subtotal"] == f"{subtotal:.2f}"
    assert totals["discount"] == f"{(subtotal / 10).quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN)}"
    assert Decimal(totals["tax"]) > 0  # New York's 8.875 %
