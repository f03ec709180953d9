"""/admin/catalog/export: the catalog CSV of the products list's filter (q, category with its subcategories,
brand, status, stock, featured), in the import's own format, so an exported filter imports back unchanged."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from sqlalchemy import update

from emporium.catalog.models import ProductVariant
from emporium.catalog.schemas import BrandRead, CategoryIn
from emporium.catalog.taxonomy import taxonomy
from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from tests.admin.catalog.support import IMPORT, apply, checked, product_count
from tests.admin.conftest import StaffClient, StaffClientFactory

EXPORT = "/admin/catalog/export"
FILE = (
    "product_slug,product_name,category_slug,brand,status,featured,tags,sku,variant_name,options,price,"
    "compare_at_price,pool_key,stock_unit,on_hand,low_stock_threshold,draw_per_unit\n"
    "linen-shirt,Linen Shirt,shirts,Loom,active,true,summer;linen,"
    "LS-M,Linen Shirt M,size=M,45.00,50.00,,pc,10,2,1\n"
    "linen-shirt,,,,,,,LS-L,Linen Shirt L,size=L,45.00,,,pc,1,2,1\n"
    "oxford-shirt,Oxford Shirt,shirts,Loom,draft,false,,OX-1,Oxford Shirt,,39.00,,,pc,0,0,1\n"
    "kaju-katli,Kaju Katli,sweets,Mithas,active,true,,KK-250,250 g,weight=250 g,9.50,,kaju,g,5000,500,250\n"
    "kaju-katli,,,,,,,KK-1000,1 kg,weight=1 kg,34.00,,kaju,g,,,1000\n"
    "plain-mug,=1+1 Mug,,,active,false,,MUG-1,Mug,,8.00,,,pc,30,5,1\n"
)


async def seeded(ctx: AppContext, client: StaffClient) -> dict[str, int]:
    async with ctx.db.session() as session:
        clothing = await taxonomy.create_category(session, CategoryIn(name="Clothing", slug="clothing"))
        shirts = await taxonomy.create_category(
            session, CategoryIn(name="Shirts", slug="shirts", parent_id=clothing.id)
        )
        sweets = await taxonomy.create_category(session, CategoryIn(name="Sweets", slug="sweets"))
    token = await checked(client, FILE)
    assert (await apply(client, token)).status_code == 303
    brands = {b.name: b.id for b in await _brands(ctx)}
    return {"clothing": clothing.id, "shirts": shirts.id, "sweets": sweets.id, **brands}


async def _brands(ctx: AppContext) -> list[BrandRead]:
    async with ctx.db.session() as session:
        return await taxonomy.brands(session)


def skus(text: str) -> list[str]:
    return [row["sku"] for row in csv.DictReader(io.StringIO(text))]


async def export(client: StaffClient, **params: str) -> str:
    response = await client.get(EXPORT, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return response.text


async def test_an_exported_filter_imports_back_unchanged(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    ids = await seeded(ctx, admin)
    first = await export(admin, category=str(ids["clothing"]))
    assert skus(first) == ["LS-M", "LS-L", "OX-1"], "a category includes its subcategories"

    token = await checked(admin, first, "export.csv")
    preview = await admin.get(f"{IMPORT}/{token}")
    assert "<dt>Products created</dt><dd>0</dd>" in preview.text
    assert "<dt>Products updated</dt><dd>2</dd>" in preview.text
    assert "<dt>Variants updated</dt><dd>3</dd>" in preview.text
    assert (await apply(admin, token)).status_code == 303
    assert await export(admin, category=str(ids["clothing"])) == first
    assert await product_count(ctx) == (4, 6)


async def test_a_whole_catalog_export_round_trips_shared_pools_and_formulas(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    await seeded(ctx, admin)
    whole = await export(admin)
    rows = list(csv.DictReader(io.StringIO(whole)))
    assert [r["sku"] for r in rows] == ["LS-M", "LS-L", "OX-1", "KK-250", "KK-1000", "MUG-1"]
    sweets = [r for r in rows if r["product_slug"] == "kaju-katli"]
    assert sweets[0]["pool_key"] == sweets[1]["pool_key"] != ""
    mug = next(r for r in rows if r["sku"] == "MUG-1")
    assert mug["product_name"] == "'=1+1 Mug", "a formula is written as text"
    token = await checked(admin, whole)
    assert (await apply(admin, token)).status_code == 303
    assert await export(admin) == whole


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "oxford"}, ["OX-1"]),
        ({"q": "kk-1000"}, ["KK-250", "KK-1000"]),
        ({"status": "draft"}, ["OX-1"]),
        ({"featured": "yes"}, ["LS-M", "LS-L", "KK-250", "KK-1000"]),
        ({"featured": "no"}, ["OX-1", "MUG-1"]),
        ({"stock": "out"}, ["OX-1"]),
        ({"stock": "low"}, ["LS-M", "LS-L"]),
        ({"stock": "in"}, ["KK-250", "KK-1000", "MUG-1"]),
        ({"status": "active", "featured": "yes", "q": "linen"}, ["LS-M", "LS-L"]),
        ({"q": "", "category": "", "brand": "", "status": "", "stock": "", "featured": ""}, None),
        ({"category": "999999"}, []),
    ],
)
async def test_each_filter_narrows_the_export(
    ctx: AppContext, staff_client: StaffClientFactory, params: dict[str, str], expected: list[str] | None
) -> None:
    admin = await staff_client("admin")
    await seeded(ctx, admin)
    found = skus(await export(admin, **params))
    assert found == (
        expected if expected is not None else ["LS-M", "LS-L", "OX-1", "KK-250", "KK-1000", "MUG-1"]
    )


async def test_brand_and_sweets_filters(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    ids = await seeded(ctx, admin)
    assert skus(await export(admin, brand=str(ids["Mithas"]))) == ["KK-250", "KK-1000"]
    assert skus(await export(admin, category=str(ids["sweets"]), brand=str(ids["Loom"]))) == []
    # Stock follows the pools: the sweet's gram pool drops to what one 1 kg box needs, at its threshold.
    async with ctx.db.session() as session:
        pool_id = (
            (await session.execute(ProductVariant.__table__.select().where(ProductVariant.sku == "KK-250")))
            .one()
            .pool_id
        )
        await session.execute(update(StockPool).where(StockPool.id == pool_id).values(on_hand=400))
    assert skus(await export(admin, stock="low", category=str(ids["sweets"]))) == ["KK-250", "KK-1000"]


@pytest.mark.parametrize(
    "params",
    [
        {"category": "abc"},
        {"brand": "-1"},
        {"status": "deleted"},
        {"stock": "none"},
        {"featured": "1"},
        {"q": "x" * 101},
        {"q": "a\x00b"},
        {"category": "99999999999999999999"},
    ],
)
async def test_hostile_filters_answer_422_with_a_page(
    staff_client: StaffClientFactory, params: dict[str, str]
) -> None:
    admin = await staff_client("admin")
    response = await admin.get(EXPORT, params=params)
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]


@pytest.mark.parametrize(
    "params",
    [{"featured": "yes", "stock": "in"}, {"q": "linen", "status": "active", "sort": "price_desc"}],
)
async def test_the_product_lists_export_link_downloads_what_the_list_shows(
    ctx: AppContext, staff_client: StaffClientFactory, params: dict[str, str]
) -> None:
    admin = await staff_client("admin")
    await seeded(ctx, admin)
    listed = await admin.get("/admin/products", params=params)
    assert listed.status_code == 200
    link = re.search(r'href="(/admin/catalog/export[^"]*)"', listed.text)
    assert link is not None
    response = await admin.get(html.unescape(link.group(1)))
    assert response.status_code == 200, response.text
    exported = {row["product_name"] for row in csv.DictReader(io.StringIO(response.text))}
    shown = set(re.findall(r'<a href="/admin/products/\d+">([^<]+)</a>', listed.text))
    assert exported
    assert exported == {html.unescape(name) for name in shown}
