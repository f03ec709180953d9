"""GDPR and orders: the export lists the orders; erasure scrubs contact details and keeps the books."""

from __future__ import annotations

import httpx

from emporium.core.context import AppContext
from emporium.orders.models import Order
from tests.conftest import Shopper
from tests.orders.conftest import place_for
from tests.support import data


async def test_export_lists_orders_and_erasure_keeps_the_books(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    placed = await place_for(client, ctx, shopper, payment_method="cash_on_delivery")
    exported = data(await client.get("/api/v1/users/export", headers=shopper.headers))
    assert [o["number"] for o in exported["orders"]] == [placed.order["number"]]
    assert exported["orders"][0]["total"] == placed.order["totals"]["total"]

    erased = await client.request(
        "DELETE", "/api/v1/users/account", json={"password": shopper.password}, headers=shopper.headers
    )
    assert data(erased) is None
    async with ctx.db.session() as session:
        order = await session.get(Order, placed.order["id"], populate_existing=True)
        assert order is not None
        assert order.contact_email.endswith("@erased.invalid")
        assert order.contact_phone is None
        assert order.shipping_address == {"erased": True}
        # The books stay: the amounts, the lines and the billing name.
        assert order.total_minor > 0
        assert order.billing_address["full_name"] == "Grace Hopper"
