"""Helpers of the payment tests: an order placed for a guest, paid through the test gateway's page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from tests.inventory.factory import make_product
from tests.orders.factory import make_cart, make_shipping, order_body
from tests.support import data


@dataclass
class GuestOrder:
    order: dict[str, Any]
    headers: dict[str, str]
    pool_id: int


async def guest_order(
    client: httpx.AsyncClient, ctx: AppContext, *, payment_method: str = "test", price: str = "20.00"
) -> GuestOrder:
    async with ctx.db.session() as session:
        made = await make_product(session, f"Paid tee {payment_method}", prices=(price,), on_hand=10)
        method = await make_shipping(session, price="5.00")
        token = await make_cart(session, [(made.variants[0], 2)])
    body = order_body(method.id, payment_method=payment_method)
    order = data(await client.post("/api/v1/orders", json=body, headers={"X-Cart-Token": token}), 201)
    return GuestOrder(order, {"X-Order-Token": order["access_token"]}, made.pools[0].id)


async def start_payment(
    client: httpx.AsyncClient, placed: GuestOrder, key: str = "pay-key-000001"
) -> dict[str, Any]:
    headers = {**placed.headers, "Idempotency-Key": key}
    payment: dict[str, Any] = data(
        await client.post(
            "/api/v1/payments/create-intent", json={"order_id": placed.order["id"]}, headers=headers
        ),
        201,
    )
    return payment


async def pay_with(client: httpx.AsyncClient, payment: dict[str, Any], number: str) -> httpx.Response:
    url = payment["next_action"]["url"]
    return await client.post(url, data={"number": number, "expiry": "12/34", "cvc": "123"})


async def pool(ctx: AppContext, pool_id: int) -> tuple[int, int]:
    async with ctx.db.session() as session:
        row = await session.get(StockPool, pool_id, populate_existing=True)
        assert row is not None
        return row.on_hand, row.reserved


async def order_view(client: httpx.AsyncClient, placed: GuestOrder) -> dict[str, Any]:
    shown: dict[str, Any] = data(
        await client.get(f"/api/v1/orders/{placed.order['id']}", headers=placed.headers)
    )
    return shown
