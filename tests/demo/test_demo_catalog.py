"""The demo shop: a believable catalog, loaded once, and bulk products for benchmarks (pictures are
tested in test_demo_images.py)."""

from __future__ import annotations

from sqlalchemy import func, select, text

from emporium.catalog.models import Category, Product, ProductVariant
from emporium.catalog.search import search_service
from emporium.catalog.search_index import SearchFilters
from emporium.core.context import AppContext
from emporium.core.pagination import PageParams
from emporium.demo import load_demo, top_up_products
from emporium.inventory.models import StockPool


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
            session, last.name, SearchFilters(), PageParams(page=1, limit=5), currency="USD"
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
