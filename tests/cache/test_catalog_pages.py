"""Catalog pages are cached for shoppers and invalidated by every kind of catalog change."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text, update

from emporium.app import create_app
from emporium.catalog.cache import VERSION_KEY, LocalPages
from emporium.catalog.models import Product
from emporium.core import changes
from emporium.inventory.models import StockPool
from tests.cache.conftest import Shop, admin_headers
from tests.conftest import MakeContext, sign_up
from tests.support import asgi_client, count_statements, data, error

PAGES = (
    "/products/{id}",
    "/products/{slug}",
    "/products?sort=name&limit=5",
    "/products/featured",
    "/categories",
    "/brands",
    "/products/search?q=tea",
    "/products/search?q=taa+pot&in_stock=true",
    "/products/autocomplete?q=te",
)


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(out, format="PNG")
    return out.getvalue()


async def cached(shop: Shop, path: str) -> bool:
    """Whether ``path`` is answered without a single SQL statement (the previous request warmed it)."""
    with count_statements(shop.ctx.db.engine, shop.ctx.db.direct_reads) as statements:
        response = await shop.get(path)
    assert response.status_code == 200, response.text
    return statements == []


async def warm(shop: Shop, *paths: str) -> None:
    for path in paths:
        assert (await shop.get(path)).status_code == 200
        assert await cached(shop, path), path


async def stamp(shop: Shop) -> str | None:
    return await shop.ctx.cache.get(VERSION_KEY)


async def test_every_public_page_is_answered_from_the_cache_without_sql(shop: Shop) -> None:
    product = await shop.product("Tea Pot", "TP-1", is_featured=True, tags=["kitchen"])
    for page in PAGES:
        path = page.format(id=product["id"], slug=product["slug"])
        first = await shop.get(path)
        assert first.status_code == 200
        with count_statements(shop.ctx.db.engine, shop.ctx.db.direct_reads) as statements:
            second = await shop.get(path)
        assert statements == [], path
        assert second.content == first.content
        assert second.headers["content-type"] == "application/json"


async def test_cached_bodies_are_byte_for_byte_the_uncached_ones(shop: Shop) -> None:
    category = await shop.category("Kitchen")
    product = await shop.product(
        "Tea Pot ☕", "TP-1", price="12.50", is_featured=True, category_id=category["id"], tags=["a", "b"]
    )
    image = {"file": ("pot.png", png(), "image/png")}
    data(
        await shop.client.post(f"/api/v1/products/{product['id']}/images", files=image, headers=shop.admin),
        201,
    )
    # The same context (so the same exchange rates and their timestamp) with the page cache off.
    plain = replace(shop.ctx, settings=shop.ctx.settings.model_copy(update={"catalog_cache_ttl_seconds": 0}))
    plain.jobs = shop.ctx.jobs
    async with asgi_client(create_app(ctx=plain)) as uncached:
        for page in PAGES:
            path = "/api/v1" + page.format(id=product["id"], slug=product["slug"])
            reference = await uncached.get(path)
            assert reference.status_code == 200
            miss = await shop.client.get(path)
            hit = await shop.client.get(path)
            assert miss.content == reference.content, path
            assert hit.content == reference.content, path
            varying = {"x-request-id", "date"}
            assert {k: v for k, v in hit.headers.items() if k not in varying} == {
                k: v for k, v in reference.headers.items() if k not in varying
            }
            assert (await uncached.get(path)).content == reference.content


async def test_a_customer_is_served_from_the_cache_after_signing_in(shop: Shop) -> None:
    product = await shop.product("Tea Pot", "TP-1")
    customer = (await sign_up(shop.client, "buyer@example.com")).headers
    path = f"/products/{product['id']}"
    await warm(shop, path)
    with count_statements(shop.ctx.db.engine, shop.ctx.db.direct_reads) as statements:
        response = await shop.get(path, headers=customer)
    assert response.status_code == 200
    # Only the look-up of who is calling; nothing from the catalog.
    assert len(statements) == 1
    assert "products" not in statements[0]
    assert "auth_sessions" in statements[0]


async def test_staff_views_are_never_cached_and_never_leak(shop: Shop) -> None:
    draft = data(
        await shop.client.post(
            "/api/v1/products", json={"name": "Secret Pot", "status": "draft"}, headers=shop.admin
        ),
        201,
    )
    path = f"/products/{draft['id']}"
    for _ in range(2):
        with count_statements(shop.ctx.db.engine, shop.ctx.db.direct_reads) as statements:
            assert data(await shop.get(path, headers=shop.admin))["status"] == "draft"
        assert any("products" in s for s in statements)
    listing = "/products?status=draft"
    assert [p["id"] for p in data(await shop.get(listing, headers=shop.admin))] == [draft["id"]]
    error(await shop.get(path), 404)
    assert data(await shop.get(listing)) == []
    assert data(await shop.get(listing)) == []
    inactive = data(
        await shop.client.post(
            "/api/v1/categories", json={"name": "Hidden", "is_active": False}, headers=shop.admin
        ),
        201,
    )
    assert inactive["id"] in [c["id"] for c in data(await shop.get("/categories", headers=shop.admin))]
    assert inactive["id"] not in [c["id"] for c in data(await shop.get("/categories"))]
    assert inactive["id"] in [c["id"] for c in data(await shop.get("/categories", headers=shop.admin))]


async def test_list_keys_come_from_the_parsed_query(shop: Shop) -> None:
    category = await shop.category("Kitchen")
    await shop.product("Tea Pot", "TP-1", category_id=category["id"])
    first = await shop.get("/products?category=kitchen&sort=name&limit=5")
    assert first.status_code == 200
    for same in (
        "/products?limit=5&sort=name&category=kitchen",
        "/products?category=KITCHEN&sort=name&limit=5&page=1&utm_source=mail",
    ):
        assert await cached(shop, same), same
        assert (await shop.get(same)).content == first.content
    assert not await cached(shop, "/products?category=kitchen&sort=name&limit=6")
    assert not await cached(shop, "/products?category=kitchen&sort=price_asc&limit=5")


async def test_bad_input_is_still_refused_with_the_cache_on(shop: Shop) -> None:
    for path in ("/products?page=0", "/products?limit=1000000", "/products?min_price=-1", "/products/%00"):
        for _ in range(2):
            assert (await shop.get(path)).status_code == 422, path
    for _ in range(2):
        error(await shop.get("/products/no-such-pot"), 404)


# Invalidation through the real API ----------------------------------------------------------------


async def test_product_patch_is_visible_on_the_next_request(shop: Shop) -> None:
    product = await shop.product("Tea Pot", "TP-1")
    by_id, by_slug, listing = f"/products/{product['id']}", f"/products/{product['slug']}", "/products"
    await warm(shop, by_id, by_slug, listing, "/products/featured")
    before = await stamp(shop)
    patch = {"name": "Copper Tea Pot", "is_featured": True}
    data(await shop.client.patch(f"/api/v1{by_id}", json=patch, headers=shop.admin))
    assert await stamp(shop) != before
    assert data(await shop.get(by_id))["name"] == "Copper Tea Pot"
    assert data(await shop.get(by_slug))["name"] == "Copper Tea Pot"
    assert [p["name"] for p in data(await shop.get(listing))] == ["Copper Tea Pot"]
    assert [p["name"] for p in data(await shop.get("/products/featured"))] == ["Copper Tea Pot"]


async def test_search_and_suggestions_follow_a_rename_on_the_next_request(shop: Shop) -> None:
    product = await shop.product("Tea Pot", "TP-1")
    search, suggest = "/products/search?q=kettle", "/products/autocomplete?q=kett"
    await warm(shop, search, suggest, "/products/search?q=tea")
    assert data(await shop.get(search)) == []
    patch = {"name": "Copper Kettle"}
    data(await shop.client.patch(f"/api/v1/products/{product['id']}", json=patch, headers=shop.admin))
    assert [hit["name"] for hit in data(await shop.get(search))] == ["Copper Kettle"]
    assert [s["text"] for s in data(await shop.get(suggest))] == ["Copper Kettle"]
    assert data(await shop.get("/products/search?q=tea")) == []


async def test_variant_price_change_is_visible_on_the_next_request(shop: Shop) -> None:
    product = await shop.product("Tea Pot", "TP-1", price="10.00")
    variant = product["variants"][0]
    detail, listing = f"/products/{product['id']}", "/products?sort=price_asc"
    await warm(shop, detail, listing)
    body = {"sku": "TP-1", "price": "8.25", "is_default": True}
    assert data(await shop.client.put(f"/api/v1/variants/{variant['id']}", json=body, headers=shop.admin))
    assert data(await shop.get(detail))["variants"][0]["price"] == "8.25"
    assert data(await shop.get(listing))[0]["price_min"] == "8.25"
    assert data(await shop.get("/products?max_price=9"))[0]["id"] == product["id"]


async def test_stock_adjustment_of_the_pool_is_visible_on_the_next_request(shop: Shop) -> None:
    product = await shop.product("Tea Pot", "TP-1")
    pool_id = product["variants"][0]["pool_id"]
    detail, in_stock = f"/products/{product['id']}", "/products?in_stock=true"
    await warm(shop, detail, in_stock)
    assert data(await shop.get(detail))["variants"][0]["availability"] == 5
    adjust = {"delta": -5, "reason": "Broken in transit"}
    data(
        await shop.client.post(
            f"/api/v1/inventory/pools/{pool_id}/adjustments", json=adjust, headers=shop.admin
        ),
        201,
    )
    assert data(await shop.get(detail))["variants"][0]["availability"] == 0
    assert data(await shop.get(detail))["in_stock"] is False
    assert data(await shop.get(in_stock)) == []
    count = {"pools": [{"pool_id": pool_id, "on_hand": 7}]}
    data(await shop.client.put(f"/api/v1/inventory/product/{product['id']}", json=count, headers=shop.admin))
    assert data(await shop.get(detail))["variants"][0]["availability"] == 7


async def test_image_upload_and_removal_are_visible_on_the_next_request(shop: Shop) -> None:
    product = await shop.product("Tea Pot", "TP-1")
    detail, listing = f"/products/{product['id']}", "/products"
    await warm(shop, detail, listing)
    assert data(await shop.get(detail))["images"] == []
    files = {"file": ("pot.png", png(), "image/png")}
    image = data(
        await shop.client.post(
            f"/api/v1/products/{product['id']}/images",
            files=files,
            data={"alt_text": "A pot"},
            headers=shop.admin,
        ),
        201,
    )
    assert [i["id"] for i in data(await shop.get(detail))["images"]] == [image["id"]]
    assert data(await shop.get(listing))[0]["image"]["id"] == image["id"]
    await warm(shop, detail)
    data(
        await shop.client.delete(f"/api/v1/products/{product['id']}/images/{image['id']}", headers=shop.admin)
    )
    assert data(await shop.get(detail))["images"] == []


async def test_category_rename_is_visible_on_the_next_request(shop: Shop) -> None:
    category = await shop.category("Kitchen")
    product = await shop.product("Tea Pot", "TP-1", category_id=category["id"])
    detail = f"/products/{product['id']}"
    await warm(shop, "/categories", detail, "/products")
    body = {"name": "Cookware", "slug": "cookware"}
    data(await shop.client.put(f"/api/v1/categories/{category['id']}", json=body, headers=shop.admin))
    assert [c["name"] for c in data(await shop.get("/categories"))] == ["Cookware"]
    assert data(await shop.get(detail))["category"]["slug"] == "cookware"
    assert data(await shop.get("/products"))[0]["category"]["name"] == "Cookware"


async def test_brand_change_is_visible_on_the_next_request(shop: Shop) -> None:
    brand = data(await shop.client.post("/api/v1/brands", json={"name": "Potter"}, headers=shop.admin), 201)
    await warm(shop, "/brands")
    data(await shop.client.put(f"/api/v1/brands/{brand['id']}", json={"name": "Potters"}, headers=shop.admin))
    assert [b["name"] for b in data(await shop.get("/brands"))] == ["Potters"]
    data(await shop.client.delete(f"/api/v1/brands/{brand['id']}", headers=shop.admin))
    assert data(await shop.get("/brands")) == []


async def test_csv_import_is_visible_on_the_next_request(shop: Shop) -> None:
    await shop.product("Tea Pot", "TP-1", price="10.00")
    await warm(shop, "/products?sort=name", "/products/tea-pot")
    csv_text = (
        "product_slug,product_name,description,category_slug,brand,tags,status,sku,variant_name,options,price,"
        "pool_key,stock_unit,on_hand,draw_per_unit\n"
        "kaju-katli,Kaju Katli,Sweet,,,,active,KK-250,Kaju Katli 250 g,weight=250 g,9.50,kaju,g,5000,250\n"
        "tea-pot,Tea Pot,,,,,active,TP-1,Tea Pot,,11.00,,pc,5,1\n"
    )
    files = {"file": ("catalog.csv", csv_text.encode(), "text/csv")}
    dry = await shop.client.post("/api/v1/admin/catalog/import?dry_run=true", files=files, headers=shop.admin)
    assert dry.status_code == 200, dry.text
    assert await cached(shop, "/products?sort=name")
    response = await shop.client.post("/api/v1/admin/catalog/import", files=files, headers=shop.admin)
    assert response.status_code == 200, response.text
    assert [p["slug"] for p in data(await shop.get("/products?sort=name"))] == ["kaju-katli", "tea-pot"]
    assert data(await shop.get("/products/tea-pot"))["variants"][0]["price"] == "11.00"


async def test_a_refused_change_keeps_the_cache(shop: Shop) -> None:
    first = await shop.product("Tea Pot", "TP-1")
    second = await shop.product("Milk Jug", "MJ-1")
    await warm(shop, "/products")
    before = await stamp(shop)
    taken = {"slug": first["slug"]}
    error(await shop.client.patch(f"/api/v1/products/{second['id']}", json=taken, headers=shop.admin), 409)
    assert await stamp(shop) == before
    assert await cached(shop, "/products")


async def test_a_zero_ttl_turns_the_cache_off(make_context: MakeContext, tmp_path: Path) -> None:
    ctx = make_context(media_dir=str(tmp_path), catalog_cache_ttl_seconds=0)
    async with asgi_client(create_app(ctx=ctx)) as client:
        shop = Shop(ctx, client, await admin_headers(ctx, client, "ttl@example.com"))
        product = await shop.product("Tea Pot", "TP-1")
        for path in (f"/products/{product['id']}", "/products", "/categories", "/brands"):
            await shop.get(path)
            assert not await cached(shop, path), path


# Changes made outside a request (jobs, the CLI) -----------------------------------------------------


async def test_writes_through_database_sessions_are_announced_after_the_commit(shop: Shop) -> None:
    product = await shop.product("Tea Pot", "TP-1")
    pool_id = product["variants"][0]["pool_id"]
    detail = f"/products/{product['id']}"
    db = shop.ctx.db
    db.announcer = changes.announce_to(shop.ctx.cache)

    # A unit of work that fails announces nothing.
    await warm(shop, detail)

    async def failing_job() -> None:
        async with db.session() as session:
            await session.execute(update(Product).where(Product.id == product["id"]).values(name="Never"))
            raise RuntimeError("job failed")

    with pytest.raises(RuntimeError):
        await failing_job()
    assert await cached(shop, detail)
    assert data(await shop.get(detail))["name"] == "Tea Pot"

    # A Core UPDATE statement.
    async with db.session() as session:
        await session.execute(update(StockPool).where(StockPool.id == pool_id).values(on_hand=2))
    assert data(await shop.get(detail))["variants"][0]["availability"] == 2

    # An object changed and flushed by the unit of work.
    await warm(shop, detail)
    async with db.session() as session:
        row = await session.get(Product, product["id"])
        assert row is not None
        row.name = "Flushed Pot"
    assert data(await shop.get(detail))["name"] == "Flushed Pot"

    # Plain SQL.
    await warm(shop, detail)
    async with db.session() as session:
        await session.execute(
            text("UPDATE products SET name = 'Textual Pot' WHERE id = :id"), {"id": product["id"]}
        )
    assert data(await shop.get(detail))["name"] == "Textual Pot"

    # Loading without changing, or writing other tables, keeps the cache.
    await warm(shop, detail)
    async with db.session() as session:
        row = await session.get(Product, product["id"])
        assert row is not None
        row.name = "Textual Pot"
        await session.execute(text("UPDATE users SET first_name = 'Ann'"))
    assert await cached(shop, detail)


async def test_changes_committed_before_a_failure_are_still_announced(shop: Shop) -> None:
    product = await shop.product("Tea Pot", "TP-1")
    detail = f"/products/{product['id']}"
    await warm(shop, detail)

    async def commit_then_fail() -> None:
        async with shop.ctx.db.session(announcer=changes.announce_to(shop.ctx.cache)) as session:
            await session.execute(update(Product).where(Product.id == product["id"]).values(name="Committed"))
            await session.commit()
            raise RuntimeError("later step failed")

    with pytest.raises(RuntimeError):
        await commit_then_fail()
    assert data(await shop.get(detail))["name"] == "Committed"


# The in-process page store -------------------------------------------------------------------------


async def test_local_pages_are_bounded_in_bytes_and_expire() -> None:
    store = LocalPages(max_bytes=1000)
    for number in range(50):
        await store.set(f"page-{number}", "x" * 100, 60)
        assert store.size <= 1000
    assert len(store) == 10
    assert await store.get("page-39") is None
    assert await store.get("page-40") == "x" * 100
    # page-40 was just used: the next page pushes out page-41, the least recently used.
    await store.set("page-50", "y" * 100, 60)
    assert await store.get("page-40") is not None
    assert await store.get("page-41") is None
    await store.set("too-big", "z" * 1001, 60)
    assert await store.get("too-big") is None
    await store.set("gone", "g", 0)
    assert await store.get("gone") is None
    assert store.size <= 1000
