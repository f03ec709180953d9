"""The global search: an order number opens the order; products by SKU or name; each kind of result only
for a role that may open it."""

from __future__ import annotations

import httpx
import pytest

from emporium.core.context import AppContext
from tests.admin.conftest import StaffClientFactory
from tests.conftest import Shopper
from tests.inventory.factory import make_product
from tests.orders.conftest import place_for


async def test_an_order_number_opens_the_order(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, staff_client: StaffClientFactory
) -> None:
    placed = await place_for(client, ctx, shopper)
    support = await staff_client("support")
    number = placed.order["number"]
    response = await support.get("/admin/search", params={"q": f"  {number.lower()} "})
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/orders/{placed.order['id']}"


async def test_products_by_sku_and_name_only_for_catalog_staff(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        made = await make_product(session, "Walnut Serving Board", prices=("30.00",), on_hand=3)
    sku = made.variants[0].sku
    admin = await staff_client("admin")
    by_sku = await admin.get("/admin/search", params={"q": sku.lower()})
    assert by_sku.status_code == 200
    assert "Walnut Serving Board" in by_sku.text
    assert f"SKU {sku}" in by_sku.text
    by_name = await admin.get("/admin/search", params={"q": "serving"})
    assert "Walnut Serving Board" in by_name.text
    # A support agent has no catalog rights: the product is not offered to them.
    support = await staff_client("support")
    hidden = await support.get("/admin/search", params={"q": "serving"})
    assert hidden.status_code == 200
    assert "Walnut Serving Board" not in hidden.text
    assert "Nothing matches" in hidden.text


async def test_like_wildcards_are_plain_text(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    async with ctx.db.session() as session:
        await make_product(session, "Plain Mug", prices=("9.00",), on_hand=3)
    admin = await staff_client("admin")
    response = await admin.get("/admin/search", params={"q": "%_"})
    assert response.status_code == 200
    assert "Plain Mug" not in response.text


@pytest.mark.parametrize("q", ["x" * 101, "order\x07", "\x00"])
async def test_hostile_searches_get_a_message(staff_client: StaffClientFactory, q: str) -> None:
    admin = await staff_client("admin")
    response = await admin.get("/admin/search", params={"q": q})
    assert response.status_code == 422
    assert "Some details need another look" in response.text


async def test_a_search_is_escaped(staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    response = await admin.get("/admin/search", params={"q": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


async def test_the_order_table_is_offered_for_a_phone_or_name(staff_client: StaffClientFactory) -> None:
    support = await staff_client("support")
    response = await support.get("/admin/search", params={"q": "+1 202 555 0143"})
    assert response.status_code == 200
    assert 'href="/admin/orders?q=%2B1+202+555+0143"' in response.text
