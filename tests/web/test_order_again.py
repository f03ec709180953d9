"""Order again on the account's order page: the order's lines go back in the cart in one write."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from emporium.catalog.models import Product, ProductVariant
from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from tests.support import count_statements, data
from tests.web.test_account_pages import customer, place_order


async def test_reorder_of_twelve_lines_writes_the_cart_once_and_shares_pools(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Every line goes back in one write, the lines of one pool checked together: when the pool can no
    longer give both, the later line is left out and named."""
    shopper, token = await customer(client)
    names = tuple(f"Tea {n}" for n in range(12))
    order = await place_order(client, ctx, shopper, names)
    async with ctx.db.session() as session:
        # "Tea 11" now draws on the pool of "Tea 10", which has one unit left: only the first fits.
        tea_10, tea_11 = [
            (await session.execute(select(Product).where(Product.name == name))).scalar_one()
            for name in ("Tea 10", "Tea 11")
        ]
        variants = {
            variant.product_id: variant
            for variant in (await session.execute(select(ProductVariant))).scalars()
            if variant.product_id in (tea_10.id, tea_11.id)
        }
        shared = await session.get(StockPool, variants[tea_10.id].pool_id)
        assert shared is not None
        shared.on_hand = shared.reserved + 1
        variants[tea_11.id].pool_id = shared.id

    with count_statements(ctx.db.engine) as statements:
        response = await client.post(f"/account/orders/{order['id']}/reorder", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/account/orders/{order['id']}?reordered=11&skipped=")
    writes = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO CART_ITEMS")]
    assert len(writes) == 1, statements
    cart = data(await client.get("/api/v1/cart", headers=shopper.headers))
    assert sorted(item["product_name"] for item in cart["items"]) == sorted(names[:11])
    page = await client.get(response.headers["location"])
    assert re.search(r"No longer available, so left out:.*Tea 11", page.text, re.S)
