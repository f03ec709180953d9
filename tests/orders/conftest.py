"""Fixtures of the order tests: a placed order ready to move along."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from emporium.core.context import AppContext
from tests.conftest import Shopper
from tests.inventory.factory import Made, make_product, staff_headers
from tests.orders.factory import ADDRESS, make_cart, make_coupon, make_shipping
from tests.support import data


@dataclass
class Placed:
    order: dict[str, Any]
    product: Made
    pool_id: int


async def place_for(
    client: httpx.AsyncClient,
    ctx: AppContext,
    shopper: Shopper,
    *,
    payment_method: str = "test",
    quantity: int = 2,
    on_hand: int = 10,
    coupon: str | None = None,
) -> Placed:
    me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    async with ctx.db.session() as session:
        made = await make_product(
            session, f"Lifecycle tee {payment_method}", prices=("20.00",), on_hand=on_hand
        )
        method = await make_shipping(session, price="5.00")
        if coupon:
            await make_coupon(session, coupon, usage_limit=10)
        await make_cart(session, [(made.variants[0], quantity)], user_id=me["id"], coupon_code=coupon)
    body = {"shipping_address": ADDRESS, "shipping_method_id": method.id, "payment_method": payment_method}
    order = data(await client.post("/api/v1/orders", json=body, headers=shopper.headers), 201)
    return Placed(order, made, made.pools[0].id)


@pytest.fixture
async def staff(client: httpx.AsyncClient, ctx: AppContext) -> dict[str, str]:
    return await staff_headers(client, ctx, email="orders-staff@example.com", role="support")
