"""Product search: relevance, facets, filters, typo tolerance, autocomplete and an index kept current."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, update

from emporium.catalog.models import Brand, Product, ProductTag
from emporium.catalog.search.service import correct, edit_distance, terms_of
from emporium.core.context import AppContext
from tests.catalog.search.conftest import Shop
from tests.support import data, error

SEARCH = "/api/v1/products/search"
AUTOCOMPLETE = "/api/v1/products/autocomplete"


async def search(client: httpx.AsyncClient, q: str, **params: Any) -> dict[str, Any]:
    response = await client.get(SEARCH, params={"q": q, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is True
    return body


def names(body: dict[str, Any]) -> list[str]:
    return [hit["name"] for hit in body["data"]]


async def test_ranks_name_matches_above_description_matches_and_hides_drafts(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    body = await search(client, "chocolate")

    assert set(names(body)[:2]) == {"Milk Chocolate Bar", "Dark Chocolate Truffles"}
    assert names(body)[-1] == "Wireless Headphones"  # only its description says chocolate
    assert "Chocolate Cookbook" not in names(body)  # a draft
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 3, "pages": 1, "total_exact": True}
    assert body["did_you_mean"] is None
    hit = body["data"][names(body).index("Milk Chocolate Bar")]
    assert hit["price_min"] == "3.50"
    assert hit["price_max"] == "3.50"
    assert hit["currency"] == "USD"
    assert hit["in_stock"] is True
    assert hit["rating"] == {"average": "4.50", "count": 5}
    assert hit["brand"]["name"] == "Cadbury"
    assert hit["category"]["name"] == "Sweets"


async def test_matches_tags_brand_category_and_stems(client: httpx.AsyncClient, shop: Shop) -> None:
    assert names(await search(client, "cashew")) == ["Kaju Katli"]  # a tag
    assert set(names(await search(client, "acme"))) == {"Cotton T-Shirt", "Denim Jeans"}  # the brand
    assert set(names(await search(client, "mithai"))) == {"Gulab Jamun", "Kaju Katli"}  # the category
    # A parent category's name finds the products of its children.
    assert set(names(await search(client, "sweets"))) == {
        "Milk Chocolate Bar",
        "Dark Chocolate Truffles",
        "Gulab Jamun",
        "Kaju Katli",
    }
    assert names(await search(client, "truffle")) == ["Dark Chocolate Truffles"]  # stemming
    assert names(await search(client, "DUMPLINGS")) == ["Gulab Jamun"]  # the description, any case
    assert names(await search(client, "soft tee")) == ["Cotton T-Shirt"]


async def test_facets_count_the_whole_matching_set(client: httpx.AsyncClient, shop: Shop) -> None:
    body = await search(client, "sweets", limit=1)

    assert len(body["data"]) == 1
    assert body["pagination"]["total"] == 4
    facets = body["facets"]
    assert [(c["name"], c["count"]) for c in facets["categories"]] == [("Indian Mithai", 2), ("Sweets", 2)]
    assert [(b["name"], b["count"]) for b in facets["brands"]] == [("Cadbury", 2)]
    bands = {band["key"]: band["count"] for band in facets["price_bands"]}
    assert bands == {"0-10": 3, "10-25": 1, "25-50": 0, "50-100": 0, "100-250": 0, "250-500": 0, "500+": 0}
    assert facets["price_bands"][1] == {"key": "10-25", "min": "10.00", "max": "25.00", "count": 1}
    assert facets["price_bands"][-1]["max"] is None
    assert facets["availability"] == {"in_stock": 3, "out_of_stock": 1}  # the gulab jamun pool is empty
    assert facets["ratings"] == [
        {"min_rating": 4, "count": 2},
        {"min_rating": 3, "count": 3},
        {"min_rating": 2, "count": 3},
        {"min_rating": 1, "count": 3},
    ]


async def test_price_band_and_rating_facets_put_boundary_values_on_the_right_side(
    client: httpx.AsyncClient, ctx: AppContext, shop: Shop
) -> None:
    # (lowest price in minor units, average rating): on an edge, just under one, and no price at all.
    values = {
        "Milk Chocolate Bar": (1000, "4.00"),
        "Dark Chocolate Truffles": (999, "3.99"),
        "Gulab Jamun": (50000, "1.00"),
        "Kaju Katli": (None, "0.99"),
    }
    async with ctx.db.session() as session:
        for name, (price, rating) in values.items():
            await session.execute(
                update(Product)
                .where(Product.id == shop.ids[name])
                .values(price_min_minor=price, rating_average=Decimal(rating))
            )

    facets = (await search(client, "sweets"))["facets"]

    bands = {band["key"]: band["count"] for band in facets["price_bands"]}
    assert bands == {"0-10": 1, "10-25": 1, "25-50": 0, "50-100": 0, "100-250": 0, "250-500": 0, "500+": 1}
    assert [(r["min_rating"], r["count"]) for r in facets["ratings"]] == [(4, 1), (3, 2), (2, 2), (1, 3)]

    # Choosing a rating facet keeps what it counted, and the facets count what is kept.
    rated = await search(client, "sweets", min_rating=3)
    assert set(names(rated)) == {"Milk Chocolate Bar", "Dark Chocolate Truffles"}
    assert rated["pagination"]["total"] == 2
    counted = [(r["min_rating"], r["count"]) for r in rated["facets"]["ratings"]]
    assert counted == [(4, 1), (3, 2), (2, 2), (1, 2)]
    assert names(await search(client, "sweets", min_rating=4)) == ["Milk Chocolate Bar"]
    assert names(await search(client, "sweets", min_rating=5)) == []
    for bad in ("0", "6", "-1", "4.5", "x", "1\x00", "9" * 40):
        assert error(await client.get(SEARCH, params={"q": "sweets", "min_rating": bad}), 422)


async def test_filters_narrow_the_results_and_the_facets(client: httpx.AsyncClient, shop: Shop) -> None:
    sweets = shop.categories["sweets"]
    assert set(names(await search(client, "sweets", category=shop.categories["indian"]))) == {
        "Gulab Jamun",
        "Kaju Katli",
    }
    assert len(names(await search(client, "sweets", category=sweets))) == 4  # descendants included
    by_slug = await search(client, "chocolate", brand=shop.brands["Cadbury"])
    assert set(names(by_slug)) == {"Milk Chocolate Bar", "Dark Chocolate Truffles"}
    assert names(await search(client, "sweets", min_price="8.00", max_price="9.00")) in (
        ["Gulab Jamun", "Kaju Katli"],
        ["Kaju Katli", "Gulab Jamun"],
    )
    in_stock = await search(client, "sweets", in_stock="true")
    assert "Gulab Jamun" not in names(in_stock)
    assert in_stock["facets"]["availability"] == {"in_stock": 3, "out_of_stock": 0}
    assert names(await search(client, "sweets", in_stock="false")) == ["Gulab Jamun"]
    assert names(await search(client, "sweets", category="no-such-category")) == []
    assert names(await search(client, "sweets", brand=str(2**70))) == []


async def test_pages_through_the_results(client: httpx.AsyncClient, shop: Shop) -> None:
    first = await search(client, "sweets", limit=3, page=1)
    second = await search(client, "sweets", limit=3, page=2)
    past = await search(client, "sweets", limit=3, page=5)

    assert len(first["data"]) == 3
    assert len(second["data"]) == 1
    assert not set(names(first)) & set(names(second))
    assert past["data"] == []
    assert past["pagination"] == {"page": 5, "limit": 3, "total": 4, "pages": 2, "total_exact": True}


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("choclate", "Milk Chocolate Bar"),
        ("chocolat", "Milk Chocolate Bar"),
        ("gulab jamon", "Gulab Jamun"),
        ("gulaab jamun", "Gulab Jamun"),
        ("kaju katly", "Kaju Katli"),
        ("tshirt", "Cotton T-Shirt"),
        ("t-shirt", "Cotton T-Shirt"),
        ("t shirt", "Cotton T-Shirt"),
        ("T-SHIRTS", "Cotton T-Shirt"),
        ("hedphones", "Wireless Headphones"),
        ("wireles headphones", "Wireless Headphones"),
    ],
)
async def test_tolerates_typos(client: httpx.AsyncClient, shop: Shop, typed: str, found: str) -> None:
    assert found in names(await search(client, typed))


async def test_a_corrected_search_names_the_correction(client: httpx.AsyncClient, shop: Shop) -> None:
    body = await search(client, "choclate")
    assert body["did_you_mean"] == "chocolate"
    assert body["query"] == "choclate"
    assert body["pagination"]["total"] == 3

    jamun = await search(client, "gulab jamon")
    assert jamun["did_you_mean"] == "gulab jamun"
    assert names(jamun) == ["Gulab Jamun"]


async def test_no_match_gives_an_empty_list_and_a_suggestion_when_one_is_close(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    # Nothing chocolate among apparel: the list is empty, and the spelling is still suggested.
    body = await search(client, "choclate", category=shop.categories["apparel"])
    assert body["data"] == []
    assert body["pagination"]["total"] == 0
    assert body["did_you_mean"] == "chocolate"

    nothing = await search(client, "xylophone")
    assert nothing["data"] == []
    assert nothing["did_you_mean"] is None
    assert nothing["facets"]["categories"] == []
    assert nothing["facets"]["availability"] == {"in_stock": 0, "out_of_stock": 0}


async def test_autocomplete_suggests_product_names_then_categories_and_brands(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    choc = data(await client.get(AUTOCOMPLETE, params={"q": "choc"}))
    assert {s["text"] for s in choc} == {"Milk Chocolate Bar", "Dark Chocolate Truffles"}  # not the draft
    assert all(s["type"] == "product" for s in choc)
    assert [s["text"] for s in data(await client.get(AUTOCOMPLETE, params={"q": "gulab ja"}))] == [
        "Gulab Jamun"
    ]
    [sweets] = data(await client.get(AUTOCOMPLETE, params={"q": "Swe"}))
    assert (sweets["type"], sweets["id"], sweets["text"]) == ("category", shop.categories["sweets"], "Sweets")
    sonic = data(await client.get(AUTOCOMPLETE, params={"q": "sonic"}))
    assert sonic[-1]["type"] == "brand"
    assert sonic[-1]["text"] == "Sonic Audio"
    assert data(await client.get(AUTOCOMPLETE, params={"q": "zzz"})) == []
    assert data(await client.get(AUTOCOMPLETE, params={"q": "%_"})) == []


async def test_autocomplete_gives_at_most_ten(client: httpx.AsyncClient, ctx: AppContext) -> None:
    from tests.inventory.factory import make_product

    async with ctx.db.session() as session:
        for i in range(15):
            await make_product(session, f"Ladoo Box {i}")
    suggestions = data(await client.get(AUTOCOMPLETE, params={"q": "lad"}))
    assert len(suggestions) == 10
    assert all(s["text"].startswith("Ladoo Box") for s in suggestions)


async def test_the_index_follows_changes_in_the_same_transaction(
    client: httpx.AsyncClient, ctx: AppContext, shop: Shop
) -> None:
    jeans = shop.ids["Denim Jeans"]
    async with ctx.db.session() as session:
        await session.execute(update(Product).where(Product.id == jeans).values(name="Selvedge Trousers"))
        session.add(ProductTag(product_id=jeans, tag="workwear"))
        await session.execute(
            update(Brand).where(Brand.slug == shop.brands["Sonic Audio"]).values(name="Bose")
        )
        await session.execute(delete(ProductTag).where(ProductTag.product_id == shop.ids["Kaju Katli"]))
        await session.execute(
            update(Product).where(Product.id == shop.ids["Milk Chocolate Bar"]).values(status="archived")
        )
        await session.execute(delete(Product).where(Product.id == shop.ids["Dark Chocolate Truffles"]))

    assert names(await search(client, "selvedge")) == ["Selvedge Trousers"]
    assert names(await search(client, "workwear")) == ["Selvedge Trousers"]
    assert names(await search(client, "trousers")) == ["Selvedge Trousers"]
    assert names(await search(client, "bose")) == ["Wireless Headphones"]
    assert names(await search(client, "cashew")) == ["Kaju Katli"]  # still in its description
    assert names(await search(client, "chocolate")) == ["Wireless Headphones"]


async def test_renaming_a_category_reindexes_its_products_and_its_descendants(
    client: httpx.AsyncClient, ctx: AppContext, shop: Shop
) -> None:
    from emporium.catalog.models import Category

    async with ctx.db.session() as session:
        await session.execute(
            update(Category).where(Category.id == shop.categories["sweets"]).values(name="Confectionery")
        )
    assert len(names(await search(client, "confectionery"))) == 4
    assert names(await search(client, "sweets")) == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "x" * 201},
        {"q": "x" * 10_000},
        {"q": "tea", "page": 0},
        {"q": "tea", "page": -1},
        {"q": "tea", "limit": 0},
        {"q": "tea", "limit": 10**6},
        {"q": "tea", "page": "x"},
        {"q": "tea", "min_price": "abc"},
        {"q": "tea", "min_price": "1.001"},
        {"q": "tea", "min_price": "-1"},
        {"q": "tea", "max_price": "1e400"},
        {"q": "tea", "max_price": "NaN"},
        {"q": "tea", "max_price": "99999999999999999999"},
        {"q": "tea", "in_stock": "maybe"},
        {"q": "tea", "category": "c" * 141},
    ],
)
async def test_out_of_range_parameters_are_422(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    assert error(await client.get(SEARCH, params=params), 422)["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x" * 101}])
async def test_autocomplete_parameters_are_checked(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    error(await client.get(AUTOCOMPLETE, params=params), 422)


def test_terms_keep_letters_and_digits_only() -> None:
    assert terms_of('\' OR 1=1-- "chocolate" NEAR(a b) *^:') == ["1", "1", "chocolate", "b"]
    assert terms_of("Crème Brûlée\x00") == ["crème", "brûlée"]
    assert terms_of("🍫!!!") == []
    assert terms_of("milk and chocolate") == ["milk", "chocolate"]
    assert terms_of("and or not") == ["and", "or", "not"]
    assert terms_of("\uff54\uff53\uff48\uff49\uff52\uff54")  # full-width letters == ["tshirt"]


def test_edit_distance_and_correction() -> None:
    assert edit_distance("choclate", "chocolate", 2) == 1
    assert edit_distance("jamon", "jamun", 2) == 1
    assert edit_distance("teh", "the", 1) == 1  # a swap counts once
    assert edit_distance("abc", "xyzabc", 2) == 3  # over the limit
    assert correct(["choclate", "bar"], ["milk chocolate bar chocolates"]) == ["chocolate", "bar"]
    assert correct(["tea"], ["tee"]) == ["tea"]  # short words are never guessed at
