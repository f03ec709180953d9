"""The product list: search by name or SKU, each filter, each sort, keyset pages, hostile parameters, the
links to the catalog export and import, and a constant number of statements per page."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.core.context import AppContext
from tests.admin.conftest import StaffClientFactory
from tests.admin.products.conftest import ROW_NAME, listed, next_link, shelf
from tests.inventory.factory import make_product
from tests.support import count_statements


async def test_every_status_is_listed_newest_first(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    await shelf(ctx)
    admin = await staff_client("admin")
    page = await admin.get("/admin/products")
    assert page.status_code == 200
    assert listed(page.text) == [
        "Golf scarf",
        "Foxtrot yo-yo",
        "Echo shirt",
        "Delta ball",
        "Charlie kite",
        "Bravo coat",
        "Alpha shirt",
    ]
    assert "7 products" in page.text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "SHIRT"}, ["Echo shirt", "Alpha shirt"]),
        ({"q": "bravo-1"}, ["Bravo coat"]),
        ({"q": "100%_"}, []),
        ({"status": "draft"}, ["Golf scarf", "Charlie kite"]),
        ({"featured": "yes"}, ["Echo shirt", "Bravo coat"]),
        ({"featured": "no", "status": "active"}, ["Foxtrot yo-yo", "Alpha shirt"]),
        ({"stock": "out"}, ["Charlie kite"]),
        ({"stock": "low"}, ["Echo shirt"]),
        ({"stock": "in", "status": "active"}, ["Foxtrot yo-yo", "Bravo coat", "Alpha shirt"]),
    ],
)
async def test_search_and_filters(
    ctx: AppContext, staff_client: StaffClientFactory, params: dict[str, str], expected: list[str]
) -> None:
    await shelf(ctx)
    admin = await staff_client("admin")
    page = await admin.get("/admin/products", params=params)
    assert page.status_code == 200
    assert listed(page.text) == expected


async def test_category_filter_takes_in_subcategories_and_brand_filter(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    made = await shelf(ctx)
    admin = await staff_client("admin")
    clothes = await admin.get("/admin/products", params={"category": made.clothes.id})
    assert listed(clothes.text) == ["Echo shirt", "Bravo coat", "Alpha shirt"]
    acme_toys = await admin.get("/admin/products", params={"category": made.toys.id, "brand": made.acme.id})
    assert listed(acme_toys.text) == ["Foxtrot yo-yo", "Charlie kite"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Alpha shirt", "Bravo coat", "Charlie kite", "Delta ball", "Echo shirt"]),
        ("price_asc", ["Foxtrot yo-yo", "Delta ball", "Charlie kite", "Alpha shirt", "Golf scarf"]),
        ("price_desc", ["Bravo coat", "Echo shirt", "Golf scarf", "Alpha shirt", "Charlie kite"]),
        ("stock", ["Charlie kite", "Echo shirt", "Golf scarf", "Bravo coat", "Foxtrot yo-yo"]),
    ],
)
async def test_sorts(
    ctx: AppContext, staff_client: StaffClientFactory, sort: str, expected: list[str]
) -> None:
    await shelf(ctx)
    admin = await staff_client("admin")
    response = await admin.get("/admin/products", params={"sort": sort})
    assert response.status_code == 200
    assert listed(response.text)[:5] == expected


@pytest.mark.parametrize("sort", ["newest", "name", "price_asc", "price_desc", "stock"])
async def test_keyset_pages_follow_each_other_through_ties(
    ctx: AppContext, staff_client: StaffClientFactory, sort: str
) -> None:
    """23 products whose prices and stock tie in threes: pages of ten show each exactly once, in the
    order of one long page."""
    async with ctx.db.session() as session:
        for i in range(23):
            await make_product(session, f"Item {i % 4}", prices=(f"{i % 3 + 1}.00",), on_hand=i % 3)
    admin = await staff_client("admin")
    whole = listed((await admin.get("/admin/products", params={"sort": sort, "limit": 200})).text)
    assert len(whole) == 23
    walked: list[str] = []
    ids: list[str] = []
    url: str | None = f"/admin/products?sort={sort}&limit=10"
    pages = 0
    while url:
        response = await admin.get(url)
        assert response.status_code == 200
        walked += listed(response.text)
        ids += [pid for pid, _ in ROW_NAME.findall(response.text)]
        url = next_link(response.text)
        pages += 1
    assert pages == 3
    assert walked == whole
    assert len(set(ids)) == 23


@pytest.mark.parametrize(
    "params",
    [
        {"status": "deleted"},
        {"category": "abc"},
        {"category": "99999999999999999999999"},
        {"stock": "lots"},
        {"sort": "random"},
        {"after": "not a cursor!"},
        {"after": "bm90LWpzb24"},
        {"limit": "100000"},
        {"q": "a\x00b"},
    ],
)
async def test_hostile_parameters_answer_4xx_with_a_message(
    ctx: AppContext, staff_client: StaffClientFactory, params: dict[str, str]
) -> None:
    await shelf(ctx)
    admin = await staff_client("admin")
    response = await admin.get("/admin/products", params=params)
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]


async def test_unknown_category_filter_finds_nothing(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    await shelf(ctx)
    admin = await staff_client("admin")
    response = await admin.get("/admin/products", params={"category": "987654"})
    assert response.status_code == 200
    assert listed(response.text) == []
    assert "No product matches these filters" in response.text


async def test_export_and_import_links_carry_the_filter(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    made = await shelf(ctx)
    admin = await staff_client("admin")
    page = await admin.get(
        "/admin/products", params={"q": "shirt", "category": made.clothes.id, "sort": "name"}
    )
    assert f'href="/admin/catalog/export?q=shirt&amp;category={made.clothes.id}"' in page.text
    assert 'href="/admin/catalog/import"' in page.text


async def test_the_list_costs_the_same_statements_whatever_the_filter_and_page(
    ctx: AppContext, staff_client: StaffClientFactory, engine: AsyncEngine
) -> None:
    made = await shelf(ctx)
    admin = await staff_client("admin")
    counts = {}
    for params in (
        {},
        {"q": "shirt"},
        {"q": "shirt", "category": str(made.clothes.id), "stock": "low", "sort": "stock"},
        {"status": "active", "featured": "yes", "sort": "price_desc", "limit": "10"},
        {"sort": "name", "after": "WyJhbHBoYSBzaGlydCIsMV0"},
    ):
        with count_statements(engine) as sent:
            assert (await admin.get("/admin/products", params=params)).status_code == 200
        counts[bool(params.get("q"))] = counts.get(bool(params.get("q")), set()) | {len(sent)}
    # The staff session, the page, its count, the categories and the brands; a search on PostgreSQL also
    # asks for plans made for its own text (core/db.py plan_for_each_value), once per request.
    searching = 1 if engine.dialect.name == "postgresql" else 0
    assert counts == {False: {5}, True: {5 + searching}}
