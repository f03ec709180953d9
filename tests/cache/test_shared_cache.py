"""Several app instances: sharing Redis they see each other's updates at once; Redis down is no outage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import update
from structlog.testing import capture_logs

from emporium.app import create_app
from emporium.catalog.models import Category, Product, ProductStatus, ProductVariant
from emporium.core import changes
from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from tests.cache.conftest import REDIS_DB, Shop, admin_headers
from tests.conftest import MakeContext
from tests.support import asgi_client, count_statements, data, free_port


@pytest.fixture
async def redis_db() -> AsyncIterator[str]:
    """Redis database 14, empty before and after the test."""
    client: Redis = Redis.from_url(REDIS_DB)
    await client.flushdb()
    yield REDIS_DB
    await client.flushdb()
    await client.aclose()


async def cached(shop: Shop, path: str) -> Any:
    """The data of ``path``, asserting it came from the cache (no SQL statement at all)."""
    with count_statements(shop.ctx.db.engine, shop.ctx.db.direct_reads) as statements:
        body = data(await shop.get(path))
    assert statements == [], path
    return body


async def two_instances(
    make_committed_context: MakeContext, tmp_path: Path, **settings: object
) -> AsyncIterator[tuple[Shop, Shop]]:
    media = str(tmp_path / "media")
    first = make_committed_context(media_dir=media, catalog_cache_ttl_seconds=300, **settings)
    second = make_committed_context(media_dir=media, catalog_cache_ttl_seconds=300, **settings)
    async with asgi_client(create_app(ctx=first)) as a, asgi_client(create_app(ctx=second)) as b:
        admin = await admin_headers(first, a, "two-apps@example.com")
        yield Shop(first, a, admin), Shop(second, b, admin)


async def test_an_update_through_one_instance_shows_on_the_other_on_its_next_request(
    make_committed_context: MakeContext, tmp_path: Path, redis_db: str
) -> None:
    instances = two_instances(make_committed_context, tmp_path, redis_url=redis_db)
    a, b = await anext(instances)
    try:
        product = await a.product("Tea Pot", "TP-1", price="10.00")
        variant = product["variants"][0]
        paths = (f"/products/{product['id']}", f"/products/{product['slug']}", "/products", "/categories")
        for shop in (a, b):
            for path in paths:
                await shop.get(path)
                await cached(shop, path)
        assert (await cached(b, paths[0]))["variants"][0]["price"] == "10.00"

        body = {"sku": "TP-1", "price": "7.75", "is_default": True}
        data(await a.client.put(f"/api/v1/variants/{variant['id']}", json=body, headers=a.admin))

        assert data(await b.get(paths[0]))["variants"][0]["price"] == "7.75"
        assert data(await b.get(paths[1]))["price_min"] == "7.75"
        assert data(await b.get(paths[2]))[0]["price_min"] == "7.75"
        # ... and from then on B answers from the shared cache again.
        assert (await cached(b, paths[0]))["variants"][0]["price"] == "7.75"

        data(await a.client.post("/api/v1/categories", json={"name": "Kitchen"}, headers=a.admin), 201)
        assert [c["name"] for c in data(await b.get("/categories"))] == ["Kitchen"]
    finally:
        await instances.aclose()


async def test_without_a_shared_cache_each_instance_keeps_its_page_until_it_expires(
    make_committed_context: MakeContext, tmp_path: Path
) -> None:
    """The control for the test above: with in-process caches B does not hear of A's update, so the
    test above passes because of Redis, not because B never cached."""
    instances = two_instances(make_committed_context, tmp_path)
    a, b = await anext(instances)
    try:
        product = await a.product("Tea Pot", "TP-1")
        path = f"/products/{product['id']}"
        await b.get(path)
        data(await a.client.patch(f"/api/v1{path}", json={"name": "Copper Pot"}, headers=a.admin))
        assert data(await a.get(path))["name"] == "Copper Pot"
        assert (await cached(b, path))["name"] == "Tea Pot"
    finally:
        await instances.aclose()


async def seed(ctx: AppContext) -> int:
    """A category and an active, featured product with one variant, written without the API (signing in
    needs the cache for its lockouts)."""
    async with ctx.db.session() as session:
        category = Category(name="Kitchen", slug="kitchen", path="/")
        session.add(category)
        await session.flush()
        category.path = f"/{category.id}/"
        product = Product(
            name="Tea Pot",
            slug="tea-pot",
            status=ProductStatus.ACTIVE,
            is_featured=True,
            category_id=category.id,
            price_min_minor=1000,
            price_max_minor=1000,
        )
        pool = StockPool(name="TP-1", on_hand=3)
        session.add_all([product, pool])
        await session.flush()
        variant = ProductVariant(
            product_id=product.id,
            sku="TP-1",
            name="Tea Pot",
            price_minor=1000,
            pool_id=pool.id,
            is_default=True,
        )
        session.add(variant)
        return product.id


def redis_down(make_context: MakeContext, tmp_path: Path) -> AppContext:
    return make_context(
        redis_url=f"redis://127.0.0.1:{free_port()}/14",
        media_dir=str(tmp_path),
        catalog_cache_ttl_seconds=300,
    )


async def test_listings_are_answered_from_the_database_when_redis_is_down(
    make_context: MakeContext, tmp_path: Path
) -> None:
    ctx = redis_down(make_context, tmp_path)
    product_id = await seed(ctx)
    async with asgi_client(create_app(ctx=ctx)) as client:
        shop = Shop(ctx, client, {})
        with capture_logs() as logs:
            for _ in range(2):
                assert [p["slug"] for p in data(await shop.get("/products"))] == ["tea-pot"]
                assert [p["slug"] for p in data(await shop.get("/products/featured"))] == ["tea-pot"]
                assert [c["slug"] for c in data(await shop.get("/categories"))] == ["kitchen"]
                assert data(await shop.get("/brands")) == []
        assert any(entry["event"] == "catalog_cache_unavailable" for entry in logs)

        # A committed write whose announcement fails still succeeds, and the next page is fresh.
        with capture_logs() as logs:
            async with ctx.db.session(announcer=changes.announce_to(ctx.cache)) as session:
                await session.execute(
                    update(Product).where(Product.id == product_id).values(name="Copper Pot")
                )
        assert any(entry["event"] == "cache_stamp_not_changed" for entry in logs)
        assert [p["name"] for p in data(await shop.get("/products"))] == ["Copper Pot"]


async def test_product_page_is_answered_from_the_database_when_redis_is_down(
    make_context: MakeContext, tmp_path: Path
) -> None:
    ctx = redis_down(make_context, tmp_path)
    product_id = await seed(ctx)
    async with asgi_client(create_app(ctx=ctx)) as client:
        shop = Shop(ctx, client, {})
        for _ in range(2):
            assert data(await shop.get(f"/products/{product_id}"))["name"] == "Tea Pot"
            assert data(await shop.get("/products/tea-pot"))["variants"][0]["availability"] == 3
