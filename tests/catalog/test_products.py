"""Products through the admin API and as shoppers see them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from emporium.catalog.models import ProductImage
from emporium.core.context import AppContext
from emporium.inventory.models import StockAdjustment, StockPool
from tests.catalog.conftest import API, Shop
from tests.support import data, error


async def test_create_and_read_a_product(client: httpx.AsyncClient, shop: Shop, ctx: AppContext) -> None:
    brand = await shop.brand("Acme")
    category = await shop.category("Tools")
    made = await shop.product(
        "Steel Anvil",
        description="**Heavy** <script>alert(1)</script>",
        brand_id=brand["id"],
        category_id=category["id"],
        tags=["Heavy", "metal", "heavy"],
        seo_title="Anvil",
        variants=[
            {"sku": "ANV-S", "price": "999.99", "compare_at_price": "1200", "stock": {"on_hand": 3}},
            {"sku": "ANV-L", "price": "1500.50", "options": {"size": "L"}, "stock": {"on_hand": 0}},
        ],
    )
    assert made["slug"] == "steel-anvil"
    assert made["price_min"] == "999.99"
    assert made["price_max"] == "1500.50"
    assert made["tags"] == ["heavy", "metal"]
    assert "<strong>Heavy</strong>" in made["description_html"]
    assert "<script" not in made["description_html"]

    product = data(await client.get(f"{API}/products/{made['id']}"))
    assert product == data(await client.get(f"{API}/products/steel-anvil"))
    assert product["brand"] == {"id": brand["id"], "name": "Acme", "slug": "acme"}
    assert product["category"]["slug"] == "tools"
    small, large = product["variants"]
    assert small["is_default"] is True
    assert large["is_default"] is False
    assert product["default_variant_id"] == small["id"]
    assert (small["price"], small["compare_at_price"], small["currency"]) == ("999.99", "1200.00", "USD")
    assert (small["availability"], small["in_stock"]) == (3, True)
    assert (large["availability"], large["in_stock"]) == (0, False)
    assert product["in_stock"] is True
    assert product["rating"] == {"average": "0.00", "count": 0}
    # Default rates: 0.0000105 BTC, 0.0115 LTC, 0.43 XRP per dollar.
    assert product["price_in_crypto"] == {"BTC": "0.01049990", "LTC": "11.49988500", "XRP": "429.995700"}
    assert product["rates_as_of"] is not None

    async with ctx.db.session() as session:
        adjustments = (await session.scalars(select(StockAdjustment))).all()
    assert [(a.delta, a.reason) for a in adjustments] == [(3, "Initial stock")]


async def test_images_come_with_urls_for_each_size(
    client: httpx.AsyncClient, shop: Shop, ctx: AppContext
) -> None:
    made = await shop.product("Pictured")
    async with ctx.db.session() as session:
        for position in (2, 1):
            session.add(
                ProductImage(
                    product_id=made["id"],
                    position=position,
                    alt_text=f"view {position}",
                    content_hash=f"{position:064d}",
                    width=800,
                    height=600,
                    files={"thumb": f"products/{made['id']}/{position}-thumb.webp"},
                )
            )
    product = data(await client.get(f"{API}/products/{made['id']}"))
    assert [i["alt_text"] for i in product["images"]] == ["view 1", "view 2"]
    assert product["images"][0]["urls"] == {"thumb": f"/media/products/{made['id']}/1-thumb.webp"}
    listed = data(await client.get(f"{API}/products"))
    assert listed[0]["image"]["alt_text"] == "view 1"


async def test_slug_is_generated_unique_or_refused(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    first = await shop.product("Gulab Jamun")
    second = await shop.product("Gulab Jamun", price="5")
    third = await shop.product("Gulab  Jamun!", price="5")
    assert [first["slug"], second["slug"], third["slug"]] == ["gulab-jamun", "gulab-jamun-2", "gulab-jamun-3"]
    assert (await shop.product("1984", price="5"))["slug"] == "product-1984"
    assert (await shop.product("Featured", price="5"))["slug"] == "featured-product"
    err = error(
        await client.post(f"{API}/products", json={"name": "X", "slug": "gulab-jamun"}, headers=admin), 409
    )
    assert err["code"] == "SLUG_TAKEN"
    err = error(
        await client.patch(f"{API}/products/{second['id']}", json={"slug": "gulab-jamun"}, headers=admin), 409
    )
    assert err["code"] == "SLUG_TAKEN"
    error(await client.post(f"{API}/products", json={"name": "X", "slug": "featured"}, headers=admin), 422)
    error(await client.post(f"{API}/products", json={"name": "X", "slug": "42"}, headers=admin), 422)


@pytest.mark.parametrize(
    ("price", "field"),
    [
        ("-1.00", "variants.0.price"),
        ("10.001", "variants.0.price"),
        (10.5, "variants.0.price"),
        ("abc", "variants.0.price"),
        ("NaN", "variants.0.price"),
        ("Infinity", "variants.0.price"),
        ("1e30", "variants.0.price"),
        (True, "variants.0.price"),
        (None, "variants.0.price"),
    ],
)
async def test_bad_prices_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str], price: Any, field: str
) -> None:
    body = {"name": "Priced", "variants": [{"sku": "P-1", "price": price}]}
    err = error(await client.post(f"{API}/products", json=body, headers=admin), 422)
    assert err["details"][0]["field"] == field
    assert data(await client.get(f"{API}/products", headers=admin)) == []


async def test_integer_and_exact_decimal_prices_are_accepted(client: httpx.AsyncClient, shop: Shop) -> None:
    made = await shop.product(
        "Whole", variants=[{"sku": "W-1", "price": 12}, {"sku": "W-2", "price": "0.10"}]
    )
    assert (made["price_min"], made["price_max"]) == ("0.10", "12.00")


async def test_put_replaces_and_patch_changes_only_what_is_sent(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    brand = await shop.brand("Acme")
    made = await shop.product("Kettle", brand_id=brand["id"], tags=["kitchen"], is_featured=True)
    patched = data(
        await client.patch(
            f"{API}/products/{made['id']}",
            json={"description": "<b>bold</b><em>it</em>", "description_format": "html"},
            headers=admin,
        )
    )
    assert patched["description_html"] == "<em>it</em>".join(["bold", ""])
    assert (patched["brand"]["id"], patched["tags"], patched["is_featured"]) == (
        brand["id"],
        ["kitchen"],
        True,
    )
    replaced = data(
        await client.put(
            f"{API}/products/{made['id']}", json={"name": "Kettle 2", "status": "active"}, headers=admin
        )
    )
    assert replaced["name"] == "Kettle 2"
    assert replaced["slug"] == made["slug"]
    assert (replaced["brand"], replaced["tags"], replaced["is_featured"], replaced["description_html"]) == (
        None,
        [],
        False,
        "",
    )
    error(await client.patch(f"{API}/products/{made['id']}", json={"name": None}, headers=admin), 422)
    error(await client.patch(f"{API}/products/{made['id']}", json={"brand_id": 999999}, headers=admin), 422)
    error(await client.patch(f"{API}/products/999999", json={"name": "x"}, headers=admin), 404)


async def test_drafts_and_archived_are_hidden_from_shoppers(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str], customer: dict[str, str]
) -> None:
    draft = await shop.product("Secret", status="draft")
    archived = await shop.product("Old", status="archived")
    for product in (draft, archived):
        for who in ({}, customer):
            assert error(await client.get(f"{API}/products/{product['id']}", headers=who), 404)["code"] == (
                "PRODUCT_NOT_FOUND"
            )
            error(await client.get(f"{API}/products/{product['slug']}", headers=who), 404)
            error(await client.get(f"{API}/products/{product['id']}/variants", headers=who), 404)
        assert data(await client.get(f"{API}/products/{product['id']}", headers=admin))["id"] == product["id"]
    assert data(await client.get(f"{API}/products")) == []
    assert {p["name"] for p in data(await client.get(f"{API}/products", headers=admin))} == {"Secret", "Old"}
    only_drafts = data(await client.get(f"{API}/products", params={"status": "draft"}, headers=admin))
    assert [p["name"] for p in only_drafts] == ["Secret"]


async def test_delete_removes_an_unsold_product_and_its_own_pools(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str], ctx: AppContext
) -> None:
    made = await shop.product("Gone soon")
    other = await shop.product("Stays")
    shared_pool = other["variants"][0]["pool_id"]
    await shop.variant(made["id"], sku="GONE-2", price="3", pool_id=shared_pool)
    result = data(await client.delete(f"{API}/products/{made['id']}", headers=admin))
    assert result == {"id": made["id"], "result": "deleted"}
    error(await client.get(f"{API}/products/{made['id']}", headers=admin), 404)
    async with ctx.db.session() as session:
        pools = set((await session.scalars(select(StockPool.id))).all())
        assert pools == {shared_pool}
        assert await session.scalar(select(func.count()).select_from(StockAdjustment)) == 1
    error(await client.delete(f"{API}/products/{made['id']}", headers=admin), 404)


async def test_product_writes_need_products_write(
    client: httpx.AsyncClient, shop: Shop, customer: dict[str, str]
) -> None:
    made = await shop.product("Guarded")
    variant_id = made["variants"][0]["id"]
    for headers, status in (({}, 401), (customer, 403), ({"Authorization": "Bearer forged"}, 401)):
        error(await client.post(f"{API}/products", json={"name": "X"}, headers=headers), status)
        error(await client.put(f"{API}/products/{made['id']}", json={"name": "X"}, headers=headers), status)
        error(await client.patch(f"{API}/products/{made['id']}", json={"name": "X"}, headers=headers), status)
        error(await client.delete(f"{API}/products/{made['id']}", headers=headers), status)
        error(
            await client.post(
                f"{API}/products/{made['id']}/variants", json={"sku": "X", "price": "1"}, headers=headers
            ),
            status,
        )
        error(
            await client.put(
                f"{API}/variants/{variant_id}", json={"sku": "X", "price": "1"}, headers=headers
            ),
            status,
        )
        error(await client.delete(f"{API}/variants/{variant_id}", headers=headers), status)
    assert data(await client.get(f"{API}/products/{made['id']}"))["name"] == "Guarded"
