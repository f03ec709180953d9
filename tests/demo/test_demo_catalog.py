"""The demo shop: a believable catalog, loaded once, and bulk products for benchmarks (pictures are
tested in test_demo_images.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.cache import VERSION_KEY
from emporium.catalog.models import Category, Product, ProductTag, ProductVariant
from emporium.catalog.search.schemas import SearchFilters
from emporium.catalog.search.service import search_service
from emporium.core import changes
from emporium.core.context import AppContext
from emporium.core.pagination import PageParams
from emporium.demo import catalog as demo_catalog
from emporium.demo import service as demo
from emporium.demo.catalog import bulk_plan
from emporium.demo.service import load_demo, top_up_products
from emporium.inventory.models import StockPool
from tests.conftest import MakeContext


async def _count(ctx: AppContext, model: type) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_the_demo_catalog_is_believable_and_loaded_once(ctx: AppContext) -> None:
    assert await load_demo(ctx, images=False) is True
    products, variants = await _count(ctx, Product), await _count(ctx, ProductVariant)
    assert products >= 150
    async with ctx.db.session() as session:
        departments = (
            (await session.execute(select(Category).where(Category.parent_id.is_(None)))).scalars().all()
        )
        assert len(departments) >= 8
        # The sweet shop: the boxes of one sweet draw 250, 500 and 1000 g from one gram pool.
        gulab = (await session.execute(select(Product).where(Product.slug == "gulab-jamun"))).scalar_one()
        boxes = (
            (await session.execute(select(ProductVariant).where(ProductVariant.product_id == gulab.id)))
            .scalars()
            .all()
        )
        assert sorted(v.draw_per_unit for v in boxes) == [250, 500, 1000]
        assert len({v.pool_id for v in boxes}) == 1
        assert (await session.get(StockPool, boxes[0].pool_id)).unit == "g"  # type: ignore[union-attr]
        # Apparel comes in sizes and colours, each with its own stock.
        tee = (
            await session.execute(select(Product).where(Product.slug == "classic-crew-t-shirt"))
        ).scalar_one()
        shirts = (
            (await session.execute(select(ProductVariant).where(ProductVariant.product_id == tee.id)))
            .scalars()
            .all()
        )
        assert {v.options["size"] for v in shirts} == {"S", "M", "L", "XL"}
        assert len({v.pool_id for v in shirts}) == len(shirts)
        # Some stock is out, some is low.
        pools = (await session.execute(select(StockPool))).scalars().all()
        assert any(p.on_hand == 0 for p in pools)
        assert any(0 < p.on_hand <= p.low_stock_threshold for p in pools)
        # Price ranges agree with the variants.
        assert tee.price_min_minor == min(v.price_minor for v in shirts)
        assert gulab.price_max_minor == max(v.price_minor for v in boxes)

    assert await load_demo(ctx, images=False) is False
    assert (await _count(ctx, Product), await _count(ctx, ProductVariant)) == (products, variants)


async def test_bulk_products_top_up_to_the_asked_total(ctx: AppContext) -> None:
    await load_demo(ctx, images=False)
    seen: list[int] = []
    added = await top_up_products(ctx, 400, seen.append)
    assert await _count(ctx, Product) == 400
    assert added == sum(seen) == 400 - 156
    assert await top_up_products(ctx, 400) == 0


async def test_bulk_products_are_indexed_for_search_once_each(ctx: AppContext) -> None:
    """On PostgreSQL the bulk load defers the insert triggers and indexes each batch itself: every
    generated product must still be found, and later inserts are indexed by the triggers again."""
    await load_demo(ctx, images=False)
    await top_up_products(ctx, 700)
    async with ctx.db.session() as session:
        last = (await session.execute(select(Product).order_by(Product.id.desc()).limit(1))).scalar_one()
        hits = await search_service.search(
            session, last.name, SearchFilters(), PageParams(page=1, limit=5), settings=ctx.settings
        )
        assert last.id in [hit.id for hit in hits.hits]
        if session.get_bind().dialect.name == "postgresql":
            indexed = await session.scalar(text("SELECT count(*) FROM product_search"))
            assert indexed == await session.scalar(select(func.count()).select_from(Product))
            # The deferral was local to the load's transactions: an ordinary insert is indexed at once.
            session.add(
                Product(name="Quokka Plush", slug="quokka-plush", description_html="", currency="USD")
            )
            await session.flush()
            assert (
                await session.scalar(
                    text(
                        "SELECT count(*) FROM product_search s JOIN products p ON p.id = s.product_id "
                        "WHERE p.slug = 'quokka-plush'"
                    )
                )
                == 1
            )


async def _bulk_rows(session: AsyncSession) -> dict[str, tuple[object, ...]]:
    """Each product by slug: what the bulk loader wrote for it, its variants with their pools, and tags."""
    products = {p.id: p for p in (await session.execute(select(Product))).scalars()}
    variants = (await session.execute(select(ProductVariant).order_by(ProductVariant.position))).scalars()
    pools = {p.id: p for p in (await session.execute(select(StockPool))).scalars()}
    tags: dict[int, set[str]] = {}
    for product_id, tag in (await session.execute(select(ProductTag.product_id, ProductTag.tag))).all():
        tags.setdefault(product_id, set()).add(tag)
    by_product: dict[int, list[ProductVariant]] = {}
    for v in variants:
        by_product.setdefault(v.product_id, []).append(v)
    rows: dict[str, tuple[object, ...]] = {}
    for product_id, p in products.items():
        own = by_product.get(product_id, [])
        rows[p.slug] = (
            p.name,
            p.description_html,
            p.status,
            p.is_featured,
            p.seo_title,
            p.seo_description,
            p.price_min_minor,
            p.price_max_minor,
            sorted(tags.get(product_id, set())),
            len({v.pool_id for v in own}),
            [
                (
                    v.sku,
                    v.name,
                    v.options,
                    v.price_minor,
                    v.is_default,
                    v.position,
                    v.draw_per_unit,
                    v.weight_grams,
                    pools[v.pool_id].unit,
                    pools[v.pool_id].on_hand,
                    pools[v.pool_id].low_stock_threshold,
                    pools[v.pool_id].name,
                )
                for v in own
            ],
        )
    return rows


def _expected(start: int, count: int) -> dict[str, tuple[object, ...]]:
    """The same view of ``bulk_plan``: what every generated product must look like."""
    expected: dict[str, tuple[object, ...]] = {}
    for p in bulk_plan(start, count, "USD"):
        prices = [int(v.price * 100) for v in p.variants]
        expected[p.slug] = (
            p.name,
            p.description_html,
            "active",
            p.featured,
            p.name,
            f"Buy {p.name} online.",
            min(prices),
            max(prices),
            sorted(set(p.tags)),
            1 if p.shared_pool else len(p.variants),
            [
                (
                    v.sku,
                    v.name,
                    v.options,
                    price,
                    position == 0,
                    position,
                    v.draw,
                    v.weight_grams,
                    p.pool_unit,
                    p.on_hand,
                    p.threshold,
                    p.name,
                )
                for position, (v, price) in enumerate(zip(p.variants, prices, strict=True))
            ],
        )
    return expected


async def test_bulk_products_are_written_as_planned_and_a_top_up_continues_them(ctx: AppContext) -> None:
    """Rows sent in batches (COPY on PostgreSQL) hold exactly the planned products, variants, pools,
    tags and price ranges, and a second top-up continues the numbering instead of repeating it."""
    await top_up_products(ctx, 130)
    await top_up_products(ctx, 1234)
    async with ctx.db.session() as session:
        rows = await _bulk_rows(session)
        assert rows == _expected(0, 1234)
        if session.get_bind().dialect.name == "postgresql":
            # Every product indexed once, with the facts search filters on.
            mismatched = await session.scalar(
                text(
                    "SELECT count(*) FROM products p LEFT JOIN product_search s ON s.product_id = p.id "
                    "WHERE s.product_id IS NULL OR s.price_min_minor IS DISTINCT FROM p.price_min_minor "
                    "OR s.category_id IS DISTINCT FROM p.category_id OR s.status <> p.status "
                    "OR s.in_stock <> EXISTS (SELECT 1 FROM product_variants v JOIN stock_pools sp "
                    "ON sp.id = v.pool_id WHERE v.product_id = p.id AND sp.on_hand >= v.draw_per_unit)"
                )
            )
            assert mismatched == 0
            assert await session.scalar(text("SELECT count(*) FROM product_search")) == 1234


async def test_a_failed_chunk_leaves_only_whole_indexed_chunks_and_the_next_run_completes(
    make_committed_context: MakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Committed for real, in small chunks: a failure in the third chunk rolls that chunk back whole, the
    two before it stay, complete and indexed, and running the top-up again finishes the catalog as
    planned. Every committed chunk changes the catalog stamp, so no cached page outlives it."""
    ctx = make_committed_context(with_smtp=False)
    monkeypatch.setattr(demo, "TOP_UP_CHUNK", 70)
    monkeypatch.setattr(demo_catalog, "BATCH_SIZE", 30)
    real_batch_rows = demo_catalog._batch_rows
    calls = 0

    def failing_in_the_third_chunk(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 8:  # the second batch of chunk three (batches of 30, 30, 10 per chunk)
            raise RuntimeError("disk full")
        return real_batch_rows(*args)

    monkeypatch.setattr(demo_catalog, "_batch_rows", failing_in_the_third_chunk)
    seen: list[int] = []
    with pytest.raises(RuntimeError, match="disk full"):
        await top_up_products(ctx, 300, seen.append)

    async def indexed(session: AsyncSession) -> int | None:
        if session.get_bind().dialect.name != "postgresql":
            return None
        return int(await session.scalar(text("SELECT count(*) FROM product_search")) or 0)

    async with ctx.db.session() as session:
        assert await _bulk_rows(session) == _expected(0, 140)
        assert await indexed(session) in (None, 140)
    monkeypatch.setattr(demo_catalog, "_batch_rows", real_batch_rows)
    stamp = await changes.read_stamp(ctx.cache, VERSION_KEY)
    assert await top_up_products(ctx, 300, seen.append) == 160
    assert await changes.read_stamp(ctx.cache, VERSION_KEY) != stamp
    assert sum(seen) == 140 + 30 + 160  # the failed chunk's first batch had been counted
    async with ctx.db.session() as session:
        assert await _bulk_rows(session) == _expected(0, 300)
        assert await indexed(session) in (None, 300)
        if session.get_bind().dialect.name == "postgresql":
            # Analysed at the end of the load: the planner's row count is the table's.
            estimate = await session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'products'"))
            assert estimate == 300
