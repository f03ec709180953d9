"""Variants: pools (own or shared in grams), availability, the default variant, SKUs and the price range."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.catalog.models import ProductImage
from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from tests.catalog.conftest import API, Shop
from tests.support import count_statements, data, error


async def sweet_shop(shop: Shop) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One pool of 1200 g of laddu sold in 250 g, 500 g and 1 kg boxes."""
    product = await shop.product("Motichoor Laddu", price=None)
    box_250 = await shop.variant(
        product["id"],
        sku="LAD-250",
        price="4.00",
        options={"weight": "250 g"},
        draw_per_unit=250,
        stock={"unit": "g", "on_hand": 1200, "low_stock_threshold": 500},
    )
    pool_id = box_250["pool_id"]
    box_500 = await shop.variant(
        product["id"], sku="LAD-500", price="7.50", pool_id=pool_id, draw_per_unit=500
    )
    box_1000 = await shop.variant(
        product["id"], sku="LAD-1000", price="14", pool_id=pool_id, draw_per_unit=1000
    )
    return product, [box_250, box_500, box_1000]


async def test_shared_gram_pool_availability(client: httpx.AsyncClient, shop: Shop, ctx: AppContext) -> None:
    product, boxes = await sweet_shop(shop)
    assert [b["availability"] for b in boxes] == [4, 2, 1]
    assert {b["unit"] for b in boxes} == {"g"}
    detail = data(await client.get(f"{API}/products/{product['id']}"))
    assert [(v["sku"], v["availability"], v["in_stock"]) for v in detail["variants"]] == [
        ("LAD-250", 4, True),
        ("LAD-500", 2, True),
        ("LAD-1000", 1, True),
    ]
    assert (detail["price_min"], detail["price_max"]) == ("4.00", "14.00")
    # Someone reserved 300 g: 900 g left.
    async with ctx.db.session() as session:
        await session.execute(
            update(StockPool).where(StockPool.id == boxes[0]["pool_id"]).values(reserved=300)
        )
    variants = data(await client.get(f"{API}/variants/product/{product['id']}"))
    assert [(v["availability"], v["in_stock"]) for v in variants] == [(3, True), (1, True), (0, False)]
    assert variants == data(await client.get(f"{API}/products/{product['id']}/variants"))


async def test_first_variant_is_default_and_default_moves(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    product, (small, medium, large) = await sweet_shop(shop)
    assert [small["is_default"], medium["is_default"], large["is_default"]] == [True, False, False]
    body = {"sku": "LAD-500", "price": "7.50", "draw_per_unit": 500, "is_default": True}
    assert (
        data(await client.put(f"{API}/variants/{medium['id']}", json=body, headers=admin))["is_default"]
        is True
    )
    defaults = [
        v["sku"] for v in data(await client.get(f"{API}/variants/product/{product['id']}")) if v["is_default"]
    ]
    assert defaults == ["LAD-500"]
    newest = await shop.variant(
        product["id"], sku="LAD-2000", price="27", draw_per_unit=2000, is_default=True
    )
    defaults = [
        v["sku"] for v in data(await client.get(f"{API}/variants/product/{product['id']}")) if v["is_default"]
    ]
    assert defaults == ["LAD-2000"]
    # Deleting the default promotes another variant.
    assert data(await client.delete(f"{API}/variants/{newest['id']}", headers=admin))["result"] == "deleted"
    defaults = [
        v["sku"] for v in data(await client.get(f"{API}/variants/product/{product['id']}")) if v["is_default"]
    ]
    assert defaults == ["LAD-250"]


async def test_price_range_follows_active_variants(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]
) -> None:
    product, (small, medium, large) = await sweet_shop(shop)
    body = {"sku": "LAD-1000", "price": "14", "draw_per_unit": 1000, "is_active": False}
    data(await client.put(f"{API}/variants/{large['id']}", json=body, headers=admin))
    detail = data(await client.get(f"{API}/products/{product['id']}"))
    assert (detail["price_min"], detail["price_max"]) == ("4.00", "7.50")
    assert [v["sku"] for v in detail["variants"]] == ["LAD-250", "LAD-500"]  # shoppers see active ones
    staff_detail = data(await client.get(f"{API}/products/{product['id']}", headers=admin))
    assert len(staff_detail["variants"]) == 3
    body = {"sku": "LAD-250", "price": "2.25", "draw_per_unit": 250}
    data(await client.put(f"{API}/variants/{small['id']}", json=body, headers=admin))
    assert data(await client.get(f"{API}/products/{product['id']}"))["price_min"] == "2.25"
    for variant in (small, medium):
        data(await client.delete(f"{API}/variants/{variant['id']}", headers=admin))
    detail = data(await client.get(f"{API}/products/{product['id']}", headers=admin))
    assert (detail["price_min"], detail["price_max"]) == (None, None)
    # The pool stays while the inactive 1 kg box still draws from it.
    assert detail["variants"][0]["pool_id"] == small["pool_id"]


async def test_sorting_and_filtering_see_the_new_price(client: httpx.AsyncClient, shop: Shop) -> None:
    await sweet_shop(shop)
    await shop.product("Cheap", "1.00")
    listed = data(await client.get(f"{API}/products", params={"sort": "price_desc"}))
    assert [p["name"] for p in listed] == ["Motichoor Laddu", "Cheap"]
    assert listed[0]["price_min"] == "4.00"


async def test_duplicate_sku_is_refused(client: httpx.AsyncClient, shop: Shop, admin: dict[str, str]) -> None:
    product, (small, _, _) = await sweet_shop(shop)
    for sku in ("LAD-500", "lad-500"):
        err = error(
            await client.post(
                f"{API}/products/{product['id']}/variants", json={"sku": sku, "price": "1"}, headers=admin
            ),
            409,
        )
        assert err["code"] == "SKU_TAKEN"
    body = {"sku": "LAD-500", "price": "4", "draw_per_unit": 250}
    assert (
        error(await client.put(f"{API}/variants/{small['id']}", json=body, headers=admin), 409)["code"]
        == "SKU_TAKEN"
    )
    twice = {"name": "Twins", "variants": [{"sku": "TW", "price": "1"}, {"sku": "TW", "price": "2"}]}
    assert error(await client.post(f"{API}/products", json=twice, headers=admin), 409)["code"] == "SKU_TAKEN"
    taken = {"name": "Copy", "variants": [{"sku": "LAD-250", "price": "1"}]}
    error(await client.post(f"{API}/products", json=taken, headers=admin), 409)


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "V", "price": "1", "draw_per_unit": 0},
        {"sku": "V", "price": "1", "draw_per_unit": -250},
        {"sku": "V", "price": "-0.01"},
        {"sku": "V", "price": "0.005"},
        {"sku": "V", "price": 0.5},
        {"sku": "V", "price": "1", "compare_at_price": "-1"},
        {"sku": "V", "price": "1", "pool_id": 1, "stock": {"on_hand": 1}},
        {"sku": "V", "price": "1", "stock": {"unit": "kg"}},
        {"sku": "V", "price": "1", "stock": {"on_hand": -1}},
        {"sku": "V", "price": "1", "pool_id": 999999},
        {"sku": "bad sku!", "price": "1"},
        {"sku": "", "price": "1"},
        {"sku": "V"},
        {"sku": "V", "price": "1", "options": {"size": ["L"]}},
        {"sku": "V", "price": "1", "options": {f"k{i}": "v" for i in range(21)}},
    ],
)
async def test_invalid_variants_are_refused(
    client: httpx.AsyncClient, shop: Shop, admin: dict[str, str], body: dict[str, Any]
) -> None:
    product = await shop.product("Host", price=None)
    error(await client.post(f"{API}/products/{product['id']}/variants", json=body, headers=admin), 422)
    assert data(await client.get(f"{API}/variants/product/{product['id']}", headers=admin)) == []


async def test_variant_routes_answer_404_for_missing_objects(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"sku": "V", "price": "1"}
    error(await client.post(f"{API}/products/999999/variants", json=body, headers=admin), 404)
    error(await client.put(f"{API}/variants/999999", json=body, headers=admin), 404)
    error(await client.delete(f"{API}/variants/999999", headers=admin), 404)
    error(await client.get(f"{API}/variants/product/999999"), 404)


@pytest.mark.parametrize(("variants", "images"), [(1, 0), (12, 8)])
async def test_detail_takes_at_most_four_statements(
    client: httpx.AsyncClient, shop: Shop, engine: AsyncEngine, ctx: AppContext, variants: int, images: int
) -> None:
    brand = await shop.brand("Acme")
    category = await shop.category("All")
    product = await shop.product(
        "Big", price=None, brand_id=brand["id"], category_id=category["id"], tags=["x"]
    )
    for index in range(variants):
        await shop.variant(
            product["id"], sku=f"BIG-{index}", price=f"{index + 1}.00", stock={"on_hand": index}
        )
    async with ctx.db.session() as session:
        for index in range(images):
            session.add(
                ProductImage(
                    product_id=product["id"],
                    position=index,
                    content_hash=f"{index:064d}",
                    width=1,
                    height=1,
                    files={"large": f"p/{index}.webp", "thumb": f"p/{index}-t.webp"},
                )
            )
    for key in (product["id"], product["slug"]):
        with count_statements(engine) as statements:
            detail = data(await client.get(f"{API}/products/{key}"))
        assert (len(detail["variants"]), len(detail["images"])) == (variants, images)
        assert len(statements) <= 4, statements
