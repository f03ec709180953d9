"""What search filters and counts by follows the catalog in the same transaction (stock, reservations,
prices, status, sales), typo corrections follow the words in use, and a search stays a few statements."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from emporium.catalog.models import Product, ProductVariant
from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from emporium.inventory.reservations import Reservations
from tests.catalog.search.conftest import Shop
from tests.catalog.search.test_search import names, search
from tests.inventory.factory import make_pool, make_product
from tests.support import count_statements, warm_up


def availability(body: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = body["facets"]["availability"]
    return counts


def stocked(body: dict[str, Any], name: str) -> bool:
    return bool(next(hit["in_stock"] for hit in body["data"] if hit["name"] == name))


def bands(body: dict[str, Any]) -> dict[str, int]:
    return {band["key"]: band["count"] for band in body["facets"]["price_bands"] if band["count"]}


async def dictionary(session: AsyncSession) -> set[str] | None:
    """The PostgreSQL typo dictionary (None on SQLite, which reads candidate words from its trigram
    table)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return set((await session.execute(text("SELECT word FROM product_search_words"))).scalars())


async def test_the_in_stock_flag_follows_stock_and_reservations(
    client: httpx.AsyncClient, ctx: AppContext, shop: Shop
) -> None:
    bar = shop.ids["Milk Chocolate Bar"]  # 10 on hand, one variant drawing 1
    async with ctx.db.session() as session:
        pool_id = (
            await session.execute(select(ProductVariant.pool_id).where(ProductVariant.product_id == bar))
        ).scalar_one()
    assert availability(await search(client, "chocolate")) == {"in_stock": 3, "out_of_stock": 0}

    async with ctx.db.session() as session:  # an order reserves all ten
        await Reservations().reserve(session, {pool_id: 10})
    body = await search(client, "chocolate")
    assert availability(body) == {"in_stock": 2, "out_of_stock": 1}
    assert not stocked(body, "Milk Chocolate Bar")
    assert "Milk Chocolate Bar" not in names(await search(client, "chocolate", in_stock="true"))
    assert names(await search(client, "chocolate", in_stock="false")) == ["Milk Chocolate Bar"]

    async with ctx.db.session() as session:  # the order is cancelled
        await Reservations().release(session, {pool_id: 4})
    assert stocked(await search(client, "chocolate"), "Milk Chocolate Bar")

    async with ctx.db.session() as session:  # a stock count finds none left
        await session.execute(update(StockPool).where(StockPool.id == pool_id).values(on_hand=6))
    assert availability(await search(client, "chocolate")) == {"in_stock": 2, "out_of_stock": 1}


async def test_the_in_stock_flag_follows_draws_and_variants(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        grams = await make_pool(session, "Peda grams", unit="g", on_hand=600)
        made = await make_product(
            session, "Kesar Peda", prices=("5.00", "9.00"), pool=grams, draws=[250, 500]
        )
        spare = await make_product(session, "Spare Lamp", on_hand=3)
    assert stocked(await search(client, "peda"), "Kesar Peda")

    async with ctx.db.session() as session:
        # 200 g left: neither box can be bought, although the pool is not empty.
        await Reservations().reserve(session, {grams.id: 400})
    assert availability(await search(client, "peda")) == {"in_stock": 0, "out_of_stock": 1}

    async with ctx.db.session() as session:  # a 100 g box drawing from the same pool
        session.add(
            ProductVariant(
                product_id=made.product.id,
                sku="PEDA-100",
                name="Kesar Peda 100 g",
                options={},
                price_minor=200,
                pool_id=grams.id,
                draw_per_unit=100,
                position=2,
            )
        )
    assert stocked(await search(client, "peda"), "Kesar Peda")

    async with ctx.db.session() as session:  # switched off again, then moved to a stocked pool
        await session.execute(
            update(ProductVariant).where(ProductVariant.sku == "PEDA-100").values(is_active=False)
        )
    assert not stocked(await search(client, "peda"), "Kesar Peda")
    async with ctx.db.session() as session:
        await session.execute(
            update(ProductVariant)
            .where(ProductVariant.sku == "PEDA-100")
            .values(is_active=True, pool_id=spare.pools[0].id, draw_per_unit=1)
        )
    assert stocked(await search(client, "peda"), "Kesar Peda")

    async with ctx.db.session() as session:
        await session.execute(delete(ProductVariant).where(ProductVariant.sku == "PEDA-100"))
    assert not stocked(await search(client, "peda"), "Kesar Peda")


async def test_a_price_change_moves_a_product_between_price_bands(
    client: httpx.AsyncClient, ctx: AppContext, shop: Shop
) -> None:
    assert bands(await search(client, "cadbury")) == {"0-10": 1, "10-25": 1}
    async with ctx.db.session() as session:
        await session.execute(
            update(Product).where(Product.id == shop.ids["Milk Chocolate Bar"]).values(price_min_minor=30000)
        )
    body = await search(client, "cadbury")
    assert bands(body) == {"10-25": 1, "250-500": 1}
    assert names(await search(client, "cadbury", min_price="100")) == ["Milk Chocolate Bar"]


async def test_ratings_status_and_sales_follow_the_product(
    client: httpx.AsyncClient, ctx: AppContext, shop: Shop
) -> None:
    async with ctx.db.session() as session:
        first = await make_product(session, "Ladoo Tin")
        second = await make_product(session, "Ladoo Tin")
    ladoos = [first.product.id, second.product.id]
    assert [hit["id"] for hit in (await search(client, "ladoo"))["data"]] == ladoos  # a tie: by id

    async with ctx.db.session() as session:  # the second sells more, and is rated
        await session.execute(
            update(Product)
            .where(Product.id == ladoos[1])
            .values(sold_count=7, rating_average=Decimal("4.50"))
        )
    body = await search(client, "ladoo")
    assert [hit["id"] for hit in body["data"]] == ladoos[::-1]
    assert body["facets"]["ratings"][0] == {"min_rating": 4, "count": 1}

    async with ctx.db.session() as session:
        await session.execute(update(Product).where(Product.id == ladoos[0]).values(status="draft"))
    assert [hit["id"] for hit in (await search(client, "ladoo"))["data"]] == ladoos[1:]


async def test_a_new_word_becomes_a_correction_and_a_lost_one_does_not(
    client: httpx.AsyncClient, ctx: AppContext, shop: Shop
) -> None:
    assert (await search(client, "rasmalia"))["did_you_mean"] is None
    async with ctx.db.session() as session:
        made = await make_product(session, "Rasmalai Cup")
        await make_product(session, "Kulfi Cup")
        assert "rasmalai" in (await dictionary(session) or {"rasmalai"})
    body = await search(client, "rasmalia")
    assert body["did_you_mean"] == "rasmalai"
    assert names(body) == ["Rasmalai Cup"]

    async with ctx.db.session() as session:  # renamed: the old word leaves, the new one arrives
        await session.execute(update(Product).where(Product.id == made.product.id).values(name="Rabri Cup"))
        words = await dictionary(session)
        assert words is None or ("rabri" in words and "rasmalai" not in words and "cup" in words)
    assert (await search(client, "rasmalia"))["did_you_mean"] is None
    assert (await search(client, "rabrii"))["did_you_mean"] == "rabri"

    async with ctx.db.session() as session:  # a draft's words are offered to nobody
        await session.execute(update(Product).where(Product.id == made.product.id).values(status="draft"))
        words = await dictionary(session)
        assert words is None or "rabri" not in words
    assert (await search(client, "rabrii"))["did_you_mean"] is None

    async with ctx.db.session() as session:  # back on sale, then deleted
        await session.execute(update(Product).where(Product.id == made.product.id).values(status="active"))
        assert "rabri" in (await dictionary(session) or {"rabri"})
        await session.execute(delete(Product).where(Product.id == made.product.id))
        words = await dictionary(session)
        assert words is None or ("rabri" not in words and "cup" in words)
    assert (await search(client, "rabrii"))["did_you_mean"] is None
    # A word another product still uses stays.
    assert (await search(client, "cupp"))["did_you_mean"] == "cup"


async def test_numbers_are_never_corrected(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        await make_product(session, "Gift Box 2024")
        assert "2024" not in (await dictionary(session) or set())
    assert names(await search(client, "2024")) == ["Gift Box 2024"]
    body = await search(client, "2025")
    assert (body["did_you_mean"], body["data"]) == (None, [])


async def test_a_search_is_one_statement_and_a_corrected_one_two_or_three(
    client: httpx.AsyncClient, shop: Shop, engine: AsyncEngine
) -> None:
    await warm_up(client)
    with count_statements(engine) as statements:
        assert len(names(await search(client, "chocolate"))) == 3
    assert len(statements) == 1, statements
    with count_statements(engine) as statements:
        assert (await search(client, "choclate"))["did_you_mean"] == "chocolate"
    # SQLite reads its typo candidates in a statement of their own.
    assert len(statements) == (3 if engine.dialect.name == "sqlite" else 2), statements
    with count_statements(engine) as statements:  # past the last page
        assert (await search(client, "chocolate", page=9))["data"] == []
    assert len(statements) == 1, statements
