"""Variant option values (colour, size, weight) are searchable: "navy hoodie" finds the hoodies sold in navy,
on the search page and through the search API, and the index follows every change of a variant."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, text, update

from emporium.catalog.models import ProductVariant
from emporium.catalog.search.schemas import SearchFilters
from emporium.catalog.search.service import search_service
from emporium.core.context import AppContext
from emporium.core.pagination import PageParams
from emporium.demo.service import top_up_products
from tests.catalog.conftest import Shop
from tests.support import count_statements, data
from tests.web.test_catalog_pages import cards

SEARCH = "/api/v1/products/search"


async def found(client: httpx.AsyncClient, q: str) -> tuple[list[str], str | None]:
    """The slugs the search API finds for ``q``, best first, and its correction."""
    response = await client.get(SEARCH, params={"q": q})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return [hit["slug"] for hit in body["data"]], body["did_you_mean"]


async def hoodies(catalog: Shop) -> dict[str, dict[str, Any]]:
    """Two hoodies in navy (one of them also in grey), one in red, one whose navy is switched off, and
    things in navy that are no hoodie."""
    apparel = await catalog.category("Apparel")
    garden = await catalog.category("Garden")

    def variants(sku: str, *options: tuple[str, str, bool]) -> list[dict[str, Any]]:
        return [
            {
                "sku": f"{sku}-{i}",
                "price": "30.00",
                "options": {"colour": colour, "size": size},
                "is_active": active,
                "is_default": i == 0,
                "stock": {"on_hand": 4},
            }
            for i, (colour, size, active) in enumerate(options)
        ]

    made = {
        "zip": await catalog.product(
            "Zip Hoodie",
            price=None,
            category_id=apparel["id"],
            variants=variants("ZIP", ("Navy", "M", True), ("Grey Marl", "L", True)),
        ),
        "pullover": await catalog.product(
            "Pullover Hoodie",
            price=None,
            category_id=apparel["id"],
            variants=variants("PUL", ("Navy", "XL", True)),
        ),
        "red": await catalog.product(
            "Fleece Hoodie",
            price=None,
            category_id=apparel["id"],
            variants=variants("RED", ("Red", "M", True), ("Red", "L", True)),
        ),
        "retired": await catalog.product(
            "Retired Hoodie",
            price=None,
            category_id=apparel["id"],
            variants=variants("RET", ("Black", "M", True), ("Navy", "M", False)),
        ),
        "can": await catalog.product(
            "Watering Can",
            price=None,
            category_id=garden["id"],
            variants=[{"sku": "CAN-1", "price": "9.00", "options": {"colour": "Navy"}}],
        ),
        # "Navy" in its name: a name outranks an option value.
        "cap": await catalog.product("Navy Sailor Cap", price="12.00", category_id=apparel["id"]),
    }
    return made


async def test_navy_hoodie_finds_the_navy_hoodies_on_the_api_and_the_page(
    client: httpx.AsyncClient, catalog: Shop
) -> None:
    await hoodies(catalog)
    slugs, correction = await found(client, "navy hoodie")
    assert sorted(slugs) == ["pullover-hoodie", "zip-hoodie"]  # not the red one, nor the switched-off navy
    assert correction is None
    page = await client.get("/search", params={"q": "navy hoodie"})
    assert page.status_code == 200
    assert sorted(cards(page.text)) == ["pullover-hoodie", "zip-hoodie"]

    # Every option is searchable, a value of two words too, and other words still narrow the match.
    assert (await found(client, "hoodie xl"))[0] == ["pullover-hoodie"]
    assert (await found(client, "grey marl"))[0] == ["zip-hoodie"]
    assert sorted((await found(client, "red hoodie"))[0]) == ["fleece-hoodie"]
    assert (await found(client, "black hoodie"))[0] == ["retired-hoodie"]
    # A name says more than an option: the cap named navy comes first.
    slugs, _ = await found(client, "navy")
    assert slugs[0] == "navy-sailor-cap"
    assert sorted(slugs[1:]) == ["pullover-hoodie", "watering-can", "zip-hoodie"]


async def test_the_results_follow_a_variants_options_activity_and_deletion(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    made = await hoodies(catalog)
    red = made["red"]["variants"]
    headers = catalog.headers

    async def put(variant: dict[str, Any], **changes: Any) -> dict[str, Any]:
        body = {k: variant[k] for k in ("sku", "price", "options", "is_active", "is_default", "position")}
        result: dict[str, Any] = data(
            await client.put(f"/api/v1/variants/{variant['id']}", json=body | changes, headers=headers)
        )
        return result

    # The red hoodie's M is dyed navy: found.
    dyed = await put(red[0], options={"colour": "Navy", "size": "M"})
    assert sorted((await found(client, "navy hoodie"))[0]) == [
        "fleece-hoodie",
        "pullover-hoodie",
        "zip-hoodie",
    ]
    assert (await found(client, "red hoodie"))[0] == ["fleece-hoodie"]  # its L is still red

    # Switched off, then on again.
    await put(dyed, is_active=False)
    assert "fleece-hoodie" not in (await found(client, "navy hoodie"))[0]
    await put(dyed, is_active=True)
    assert "fleece-hoodie" in (await found(client, "navy hoodie"))[0]

    # Deleted: the pullover's only navy goes with its variant; a new variant brings it back.
    pullover = made["pullover"]
    await catalog.variant(
        pullover["id"], sku="PUL-9", price="30.00", options={"colour": "Sand", "size": "S"}, is_default=True
    )
    deleted = await client.delete(f"/api/v1/variants/{pullover['variants'][0]['id']}", headers=headers)
    assert data(deleted)["result"] == "deleted"
    assert sorted((await found(client, "navy hoodie"))[0]) == ["fleece-hoodie", "zip-hoodie"]
    assert (await found(client, "sand hoodie"))[0] == ["pullover-hoodie"]

    # A variant moved to another product takes its values along (no route does this; the triggers do).
    async with ctx.db.session() as session:
        await session.execute(
            update(ProductVariant)
            .where(ProductVariant.id == made["zip"]["variants"][1]["id"])
            .values(product_id=made["retired"]["id"])
        )
    assert (await found(client, "grey marl hoodie"))[0] == ["retired-hoodie"]

    # A whole product deleted leaves no entry behind.
    assert (await client.delete(f"/api/v1/products/{made['zip']['id']}", headers=headers)).status_code == 200
    assert (await found(client, "navy hoodie"))[0] == ["fleece-hoodie"]


async def test_a_mistyped_option_value_is_corrected_while_a_product_carries_it(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    made = await hoodies(catalog)
    slugs, correction = await found(client, "navvy hoodie")
    assert correction == "navy hoodie"
    assert sorted(slugs) == ["pullover-hoodie", "zip-hoodie"]
    slugs, correction = await found(client, "mustrad hoodie")
    assert (slugs, correction) == ([], None)

    async with ctx.db.session() as session:  # a mustard variant arrives through the ORM
        session.add(
            ProductVariant(
                product_id=made["red"]["id"],
                sku="RED-MUS",
                name="Mustard M",
                options={"colour": "Mustard", "size": "M"},
                price_minor=3000,
                pool_id=made["red"]["variants"][0]["pool_id"],
            )
        )
    assert await found(client, "mustrad hoodie") == (["fleece-hoodie"], "mustard hoodie")

    async with ctx.db.session() as session:  # and leaves again: no product is mustard, so no correction
        await session.execute(
            update(ProductVariant).where(ProductVariant.sku == "RED-MUS").values(options={"size": "M"})
        )
        if session.get_bind().dialect.name == "postgresql":
            words = set((await session.execute(text("SELECT word FROM product_search_words"))).scalars())
            assert "navy" in words
            assert "mustard" not in words
    assert await found(client, "mustrad hoodie") == ([], None)


async def test_option_values_cost_search_no_statement(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await hoodies(catalog)
    with count_statements(ctx.db.engine) as statements:
        assert len((await found(client, "navy hoodie"))[0]) == 2
    assert len(statements) == 1, statements
    with count_statements(ctx.db.engine) as statements:
        assert (await found(client, "navvy hoodie"))[1] == "navy hoodie"
    assert len(statements) == (3 if ctx.db.engine.dialect.name == "sqlite" else 2), statements
    with count_statements(ctx.db.engine) as statements:
        assert sorted(cards((await client.get("/search", params={"q": "navy hoodie"})).text)) == [
            "pullover-hoodie",
            "zip-hoodie",
        ]
    searches = [s for s in statements if "product_search" in s]
    assert len(searches) == 1, statements


async def test_a_bulk_load_indexes_its_option_values(ctx: AppContext) -> None:
    """The demo's bulk load (COPY with the insert triggers deferred on PostgreSQL, row triggers on SQLite):
    a colour search finds exactly the products of the word that have an active variant in that colour."""
    await top_up_products(ctx, 400)
    async with ctx.db.session() as session:
        variants = (await session.execute(select(ProductVariant.product_id, ProductVariant.options))).all()
        navy = {product_id for product_id, options in variants if "Navy" in options.values()}
        page = PageParams(page=1, limit=100)

        async def ids(query: str) -> set[int]:
            result = await search_service.search(session, query, SearchFilters(), page, settings=ctx.settings)
            assert result.pagination.total < 100
            return {hit.id for hit in result.hits}

        hoodie_ids = await ids("hoodie")
        # The plan's colours are mixed: some hoodies come in navy, some do not.
        assert hoodie_ids & navy
        assert hoodie_ids - navy
        assert await ids("navy hoodie") == hoodie_ids & navy
