"""The category tree and brands: public reads, staff writes, slugs, moves and refusals."""

from __future__ import annotations

import httpx

from emporium.core.context import AppContext
from tests.catalog.conftest import API, Shop, staff_headers
from tests.support import data, error


async def test_tree_is_nested_and_ordered(client: httpx.AsyncClient, shop: Shop) -> None:
    food = await shop.category("Food", position=2)
    apparel = await shop.category("Apparel", position=1)
    sweets = await shop.category("Sweets", food["id"])
    await shop.category("Bakery", food["id"])
    await shop.category("Laddu", sweets["id"])
    assert sweets["path"] == f"/{food['id']}/{sweets['id']}/"

    tree = data(await client.get(f"{API}/categories"))
    assert [node["name"] for node in tree] == ["Apparel", "Food"]
    assert tree[0]["id"] == apparel["id"]
    assert [node["name"] for node in tree[1]["children"]] == ["Bakery", "Sweets"]
    assert tree[1]["children"][1]["children"][0]["name"] == "Laddu"


async def test_inactive_categories_are_hidden_from_shoppers(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    hidden = await shop.category("Hidden", is_active=False)
    await shop.category("Under hidden", hidden["id"])
    await shop.category("Shown")
    assert [n["name"] for n in data(await client.get(f"{API}/categories"))] == ["Shown"]
    staff_view = data(await client.get(f"{API}/categories", headers=admin))
    assert [n["name"] for n in staff_view] == ["Hidden", "Shown"]
    assert staff_view[0]["children"][0]["name"] == "Under hidden"


async def test_slug_is_generated_and_unique(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    made = await shop.category("Crème Brûlée & Co")
    assert made["slug"] == "creme-brulee-co"
    err = error(
        await client.post(f"{API}/categories", json={"name": "X", "slug": "creme-brulee-co"}, headers=admin),
        409,
    )
    assert err["code"] == "SLUG_TAKEN"
    error(await client.post(f"{API}/categories", json={"name": "Crème Brûlée & Co"}, headers=admin), 409)
    error(
        await client.post(f"{API}/categories", json={"name": "X", "slug": "Not A Slug!"}, headers=admin), 422
    )
    error(await client.post(f"{API}/categories", json={"name": "X", "slug": "12345"}, headers=admin), 422)


async def test_moving_a_category_rewrites_its_subtree(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    a = await shop.category("A")
    b = await shop.category("B")
    a1 = await shop.category("A1", a["id"])
    a11 = await shop.category("A11", a1["id"])
    moved = data(
        await client.put(
            f"{API}/categories/{a1['id']}", json={"name": "A1", "parent_id": b["id"]}, headers=admin
        )
    )
    assert moved["path"] == f"/{b['id']}/{a1['id']}/"
    staff_tree = data(await client.get(f"{API}/categories", headers=admin))
    b_node = next(n for n in staff_tree if n["id"] == b["id"])
    assert b_node["children"][0]["children"][0]["path"] == f"/{b['id']}/{a1['id']}/{a11['id']}/"
    # Back to the top level.
    top = data(await client.put(f"{API}/categories/{a1['id']}", json={"name": "A1"}, headers=admin))
    assert top["path"] == f"/{a1['id']}/"
    assert top["parent_id"] is None


async def test_a_category_cannot_move_under_itself_or_a_descendant(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    a = await shop.category("A")
    child = await shop.category("Child", a["id"])
    grandchild = await shop.category("Grandchild", child["id"])
    for target in (a["id"], child["id"], grandchild["id"]):
        err = error(
            await client.put(
                f"{API}/categories/{a['id']}", json={"name": "A", "parent_id": target}, headers=admin
            ),
            409,
        )
        assert err["code"] == "CATEGORY_CYCLE"
    err = error(
        await client.put(
            f"{API}/categories/{a['id']}", json={"name": "A", "parent_id": 999999}, headers=admin
        ),
        422,
    )
    assert err["code"] == "UNKNOWN_CATEGORY"


async def test_delete_is_refused_with_children_or_products(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    parent = await shop.category("Parent")
    child = await shop.category("Child", parent["id"])
    assert error(await client.delete(f"{API}/categories/{parent['id']}", headers=admin), 409)["code"] == (
        "CATEGORY_HAS_CHILDREN"
    )
    product = await shop.product("Thing", category_id=child["id"])
    assert error(await client.delete(f"{API}/categories/{child['id']}", headers=admin), 409)["code"] == (
        "CATEGORY_HAS_PRODUCTS"
    )
    data(await client.patch(f"{API}/products/{product['id']}", json={"category_id": None}, headers=admin))
    data(await client.delete(f"{API}/categories/{child['id']}", headers=admin))
    data(await client.delete(f"{API}/categories/{parent['id']}", headers=admin))
    assert data(await client.get(f"{API}/categories", headers=admin)) == []
    error(await client.delete(f"{API}/categories/{parent['id']}", headers=admin), 404)


async def test_category_writes_need_products_write(
    client: httpx.AsyncClient, ctx: AppContext, customer: dict[str, str], shop: Shop
) -> None:
    cat = await shop.category("Mine")
    support = await staff_headers(client, ctx, "support@shop.test", "support")
    for headers, status in (({}, 401), (customer, 403), (support, 403)):
        error(await client.post(f"{API}/categories", json={"name": "X"}, headers=headers), status)
        error(await client.put(f"{API}/categories/{cat['id']}", json={"name": "X"}, headers=headers), status)
        error(await client.delete(f"{API}/categories/{cat['id']}", headers=headers), status)
        error(await client.post(f"{API}/brands", json={"name": "X"}, headers=headers), status)


async def test_brands_crud(client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]) -> None:
    acme = await shop.brand("Acme", description="Since 1900")
    assert acme["slug"] == "acme"
    await shop.brand("Zed")
    assert [b["name"] for b in data(await client.get(f"{API}/brands"))] == ["Acme", "Zed"]
    assert (
        error(await client.post(f"{API}/brands", json={"name": "acme"}, headers=admin), 409)["code"]
        == "BRAND_TAKEN"
    )
    renamed = data(await client.put(f"{API}/brands/{acme['id']}", json={"name": "Acme Co"}, headers=admin))
    assert renamed["name"] == "Acme Co"
    assert renamed["slug"] == "acme"
    product = await shop.product("Anvil", brand_id=acme["id"])
    assert (
        error(await client.delete(f"{API}/brands/{acme['id']}", headers=admin), 409)["code"] == "BRAND_IN_USE"
    )
    data(await client.delete(f"{API}/products/{product['id']}", headers=admin))
    data(await client.delete(f"{API}/brands/{acme['id']}", headers=admin))
    error(await client.put(f"{API}/brands/{acme['id']}", json={"name": "Gone"}, headers=admin), 404)
