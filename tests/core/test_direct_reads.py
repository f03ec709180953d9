"""Reads sent by asyncpg itself (core/direct_reads.py) give the rows SQLAlchemy would have given, and
survive a connection the server has ended. PostgreSQL only: SQLite always reads through SQLAlchemy."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import bindparam, func, make_url, select, text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.app import create_app
from emporium.catalog.list_repository import filter_values
from emporium.catalog.models import Brand
from emporium.catalog.repository import _page_statement
from emporium.catalog.schemas import ProductFilters, SortKey
from emporium.catalog.search.facet_repository import facet_rows
from emporium.catalog.search.repository import SearchIndex
from emporium.catalog.search.schemas import SearchFilters
from emporium.catalog.search.service import search_service, terms_of
from emporium.core.db import Database
from emporium.core.direct_reads import DirectReads
from tests.cache.conftest import Shop, admin_headers
from tests.conftest import MakeContext
from tests.support import asgi_client, data


@pytest.fixture
async def direct(committed_db: Database) -> DirectReads:
    if committed_db.direct_reads is None:
        pytest.skip("PostgreSQL only: SQLite reads through SQLAlchemy")
    return committed_db.direct_reads


@pytest.fixture
async def shop(make_committed_context: MakeContext, tmp_path: Path) -> AsyncIterator[Shop]:
    ctx = make_committed_context(media_dir=str(tmp_path / "media"), catalog_cache_ttl_seconds=0)
    async with asgi_client(create_app(ctx=ctx)) as client:
        yield Shop(ctx, client, await admin_headers(ctx, client, "direct-admin@example.com"))


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 140, 90)).save(out, format="PNG")
    return out.getvalue()


async def a_varied_catalog(shop: Shop) -> None:
    """Products with and without brand, category, tags, image, stock and rating."""
    async with shop.ctx.db.session() as session:
        brand = Brand(name="Northwind", slug="northwind")
        session.add(brand)
        await session.flush()
        brand_id = brand.id
    kitchen = await shop.category("Kitchen")
    pot = await shop.product(
        "Tea Pot", "TP-1", price="12.50", brand_id=brand_id, category_id=kitchen["id"], tags=["b", "a"]
    )
    image = {"file": ("pot.png", png(), "image/png")}
    response = await shop.client.post(f"/api/v1/products/{pot['id']}/images", files=image, headers=shop.admin)
    data(response, 201)
    await shop.product("Kettle", "KT-1", price="30.00", is_featured=True)
    sold_out = await shop.product("Mug", "MG-1", price="4.99", tags=["mugs"])
    pool_id = sold_out["variants"][0]["pool_id"]
    response = await shop.client.put(
        f"/api/v1/inventory/product/{sold_out['id']}",
        json={"pools": [{"pool_id": pool_id, "on_hand": 0}]},
        headers=shop.admin,
    )
    data(response)
    response = await shop.client.post(
        "/api/v1/products", json={"name": "Secret", "status": "draft"}, headers=shop.admin
    )
    data(response, 201)


def plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(key): value for key, value in row.items()}


@pytest.mark.parametrize(
    ("filters", "sort", "offset", "limit"),
    [
        (ProductFilters(), "newest", 0, 20),
        (ProductFilters(), "price_asc", 1, 2),
        (ProductFilters(statuses=("active", "draft")), "name", 0, 10),
        (ProductFilters(statuses=None, in_stock=False), "price_desc", 0, 5),
        (ProductFilters(tag="a", featured=False), "rating", 0, 3),
        (ProductFilters(category_slug="kitchen", min_price_minor=1000, max_price_minor=2000), "newest", 0, 5),
        (ProductFilters(brand_slug="northwind"), "popularity", 0, 5),
        (ProductFilters(), "newest", 50, 20),
    ],
)
async def test_the_list_reads_the_same_rows_either_way(
    shop: Shop,
    direct: DirectReads,
    committed_db: Database,
    filters: ProductFilters,
    sort: SortKey,
    offset: int,
    limit: int,
) -> None:
    await a_varied_catalog(shop)
    statement = _page_statement(filters, sort, postgres=True)
    values = filter_values(filters) | {"offset": offset, "limit": limit, "count_limit": 1001}
    async with committed_db.read_session() as session:
        expected = [plain(row) for row in (await session.execute(statement, values)).mappings()]
    got = [plain(row) for row in await direct.fetch(statement, values)]
    assert got == expected
    # Equal values of other types would serialise differently (a Decimal against a float, say).
    for got_row, expected_row in zip(got, expected, strict=True):
        assert {k: type(v) for k, v in got_row.items()} == {k: type(v) for k, v in expected_row.items()}
    if offset == 0 and filters == ProductFilters():
        assert [row["name"] for row in got] == ["Mug", "Kettle", "Tea Pot"]
        mug, _, pot = got
        assert mug["in_stock"] is False
        assert pot["in_stock"] is True
        assert sorted(pot["tags"]) == ["a", "b"]
        assert set(pot["image_files"]) == {"thumb", "medium", "large"}
        assert (pot["brand_slug"], pot["category_slug"]) == ("northwind", "kitchen")
        assert pot["counted"] == 3


async def test_a_read_is_sent_again_when_the_server_ended_its_connection(
    direct: DirectReads, committed_db: Database
) -> None:
    pid = select(func.pg_backend_pid().label("pid"))
    # Ended between two reads, the connection may look alive until the read is sent on it, or die
    # while it runs; a few rounds see both.
    for _ in range(5):
        first = (await direct.fetch(pid))[0]["pid"]
        async with committed_db.engine.connect() as admin:
            ended = await admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        assert ended is True
        second = (await direct.fetch(pid))[0]["pid"]
        assert second != first


async def test_values_are_sent_as_arguments_never_as_sql(direct: DirectReads, shop: Shop) -> None:
    """A hostile filter value is a bound argument: the SQL sent is the same whatever the value."""
    await a_varied_catalog(shop)
    seen: list[str] = []
    direct.observers.append(seen.append)
    try:
        for tag, found in (("a' OR 1=1 --", 0), ("a", 1)):
            filters = ProductFilters(tag=tag)
            statement = _page_statement(filters, "newest", postgres=True)
            values = filter_values(filters) | {"offset": 0, "limit": 5, "count_limit": 1001}
            assert len(await direct.fetch(statement, values)) == found
    finally:
        direct.observers.remove(seen.append)
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert "OR 1=1" not in seen[0]


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("tea", SearchFilters()),
        ("pot", SearchFilters(category="kitchen", min_price_minor=100)),
        ("kettle mug", SearchFilters(in_stock=True)),
        ("teaa pott", SearchFilters(brand="northwind")),
    ],
)
async def test_search_reads_the_same_rows_either_way(
    shop: Shop, direct: DirectReads, committed_db: Database, query: str, filters: SearchFilters
) -> None:
    """Every statement of a search and of autocomplete, through a session that has begun nothing
    (sent directly) and inside a transaction (through SQLAlchemy)."""
    await a_varied_catalog(shop)
    terms = terms_of(query)

    async def everything(session: AsyncSession) -> list[Any]:
        index = SearchIndex(session)
        edges = search_service.band_edges("USD")
        return [
            [plain(row) for row in await index.facet_rows(terms, filters, edges, limit=2, nearest=True)],
            [plain(row) for row in await index.autocomplete_rows(terms, query[:2], 10, nearest=True)],
        ]

    seen: list[str] = []
    direct.observers.append(seen.append)
    try:
        async with committed_db.sessionmaker() as alone:
            got = await everything(alone)
    finally:
        direct.observers.remove(seen.append)
    assert len(seen) == 2
    async with committed_db.read_session() as session:
        expected = await everything(session)
    assert got == expected
    assert got[0], "the facet statement always has its rows of counts"
    kinds = {row["kind"] for row in got[0]}
    assert ("hit" in kinds) != ("near" in kinds), "a page of hits, or the words near those matching nothing"


ASYNCPG = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


def a_direct_reader() -> DirectReads:
    """Rendering alone: nothing here connects."""
    return DirectReads(make_url("postgresql+asyncpg://emporium@127.0.0.1:1/none"), ASYNCPG, {})


def rendered_by_sqlalchemy(statement: Any, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
    state = statement.compile(dialect=ASYNCPG).construct_expanded_state(values)
    return state.statement, [state.parameters[name] for name in state.positiontup]


def test_a_remembered_rendering_gives_what_sqlalchemy_renders_for_other_values() -> None:
    """The rendering is kept per statement and per values written into its text (the LIMIT, the length
    of a list); every other value must still reach the arguments, the first time and every time after."""
    direct = a_direct_reader()
    cases: list[tuple[ProductFilters, SortKey, int, int]] = [
        (ProductFilters(), "newest", 0, 20),
        (ProductFilters(tag="a"), "newest", 0, 20),
        (ProductFilters(tag="b"), "newest", 0, 20),
        (ProductFilters(tag="b"), "newest", 40, 20),
        (ProductFilters(statuses=("active", "draft")), "name", 0, 10),
        (ProductFilters(statuses=("archived", "draft")), "name", 0, 10),
        (ProductFilters(statuses=("archived",)), "name", 0, 10),
        (
            ProductFilters(category_slug="kitchen", min_price_minor=1000, max_price_minor=2000),
            "price_asc",
            5,
            5,
        ),
        (ProductFilters(category_slug="garden", min_price_minor=1, max_price_minor=9), "price_asc", 5, 5),
    ]
    for _ in range(2):
        for filters, sort, offset, limit in cases:
            statement = _page_statement(filters, sort, postgres=True)
            values = filter_values(filters) | {"offset": offset, "limit": limit, "count_limit": 1001}
            assert direct._render(statement, values) == rendered_by_sqlalchemy(statement, values)
    expanding = select(Brand.id).where(Brand.id.in_(bindparam("ids", expanding=True)), Brand.slug == "x")
    for ids in ([1], [2], [3, 4, 5], [6, 7, 8]):
        assert direct._render(expanding, {"ids": ids}) == rendered_by_sqlalchemy(expanding, {"ids": ids})


async def test_option_filters_and_category_facets_read_the_same_rows_either_way(
    shop: Shop, direct: DirectReads, committed_db: Database
) -> None:
    """The list's option and brand filters, and the category facets' statement, sent directly and through
    SQLAlchemy: their values are bound the same way on both paths."""
    await a_varied_catalog(shop)
    kitchen = await shop.category("Linen")
    variants = [
        {"sku": f"AP-{colour}-{size}", "price": "8.00", "options": {"colour": colour, "size": size}}
        for colour in ("Navy", "Rust")
        for size in ("S", "M")
    ]
    await shop.product("Apron", "unused", category_id=kitchen["id"], variants=variants)
    filters = ProductFilters(
        category_id=kitchen["id"],
        brand_slugs=("northwind", "nobody"),
        options=(("colour", ("Navy", "Teal")), ("size", ("M",))),
    )
    plain_filters = ProductFilters(category_id=kitchen["id"], options=(("colour", ("Navy",)),))
    for chosen in (filters, plain_filters):
        statement = _page_statement(chosen, "newest", postgres=True)
        values = filter_values(chosen) | {"offset": 0, "limit": 20, "count_limit": 1001}
        async with committed_db.read_session() as session:
            expected = [plain(row) for row in (await session.execute(statement, values)).mappings()]
        got = [plain(row) for row in await direct.fetch(statement, values)]
        assert got == expected
    assert [row["name"] for row in got] == ["Apron"]

    for chosen in (filters, plain_filters):
        async with committed_db.sessionmaker() as alone:
            facets_alone = sorted(tuple(plain(row).values()) for row in await facet_rows(alone, chosen))
        async with committed_db.read_session() as session:
            facets_inside = sorted(tuple(plain(row).values()) for row in await facet_rows(session, chosen))
        assert facets_alone == facets_inside
    # Rust counts the Apron (a colour's count leaves out the colour's own choice), as Navy does; with the
    # brands chosen above nothing counts, since the Apron has no brand.
    counted = [(*row[:4], int(row[4])) for row in facets_alone]
    assert ("option", "colour", "Rust", "Rust", 1) in counted
    assert ("option", "size", "M", "M", 1) in counted
