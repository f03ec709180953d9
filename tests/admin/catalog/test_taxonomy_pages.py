"""/admin/categories and /admin/brands: the tree (add, rename, edit slug and description, move under another
parent but never under itself or a descendant, reorder with up/down forms, hide), brands (add, rename,
delete when unused or refused), each change audited and the catalog cache stamp changed; support is refused;
hostile input answers with a message and changes nothing; the list pages cost a fixed number of statements."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.audit.models import AuditEntry
from emporium.catalog.cache import VERSION_KEY
from emporium.catalog.models import Brand, Category
from emporium.catalog.schemas import BrandIn, CategoryIn
from emporium.catalog.taxonomy import taxonomy
from emporium.core.context import AppContext
from tests.admin.catalog.support import GOOD, apply, checked
from tests.admin.conftest import StaffClient, StaffClientFactory
from tests.support import count_statements


async def post(client: StaffClient, url: str, **fields: str) -> httpx.Response:
    return await client.post(url, data={"csrf_token": client.csrf, **fields})


async def categories(ctx: AppContext) -> dict[str, Category]:
    async with ctx.db.session() as session:
        return {c.slug: c for c in (await session.execute(select(Category))).scalars()}


async def actions(ctx: AppContext) -> list[str]:
    async with ctx.db.session() as session:
        return list((await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars())


def tree_order(html: str) -> list[str]:
    return re.findall(r'class="admin-catalog-node__name" href="/admin/categories/\d+">([^<]+)</a>', html)


async def test_add_rename_move_and_hide_a_category(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    assert (await admin.get("/admin/categories")).status_code == 200
    stamp = await ctx.cache.get(VERSION_KEY)
    added = await post(admin, "/admin/categories", name="Clothing", slug="", description="", parent_id="")
    assert added.status_code == 303
    assert await ctx.cache.get(VERSION_KEY) != stamp
    clothing = (await categories(ctx))["clothing"]
    await post(admin, "/admin/categories", name="Shirts", slug="", description="", parent_id=str(clothing.id))
    await post(admin, "/admin/categories", name="Gifts", slug="", description="", parent_id="")
    found = await categories(ctx)
    shirts, gifts = found["shirts"], found["gifts"]
    assert shirts.parent_id == clothing.id

    edit = await admin.get(f"/admin/categories/{clothing.id}")
    assert edit.status_code == 200
    assert f'<option value="{shirts.id}"' not in edit.text, "its own descendant is not offered as a parent"
    saved = await post(
        admin,
        f"/admin/categories/{shirts.id}",
        name="Shirts & Tops",
        slug="tops",
        description="<b>Cotton</b>",
        parent_id=str(gifts.id),
    )
    assert saved.status_code == 303
    found = await categories(ctx)
    moved = found["tops"]
    assert moved.name == "Shirts & Tops"
    assert moved.parent_id == gifts.id
    assert moved.path == f"{gifts.path}{moved.id}/"
    page = await admin.get("/admin/categories")
    assert "Shirts &amp; Tops" in page.text

    hidden = await post(admin, f"/admin/categories/{gifts.id}/active", active="0")
    assert hidden.status_code == 303
    assert not (await categories(ctx))["gifts"].is_active
    assert "hidden" in (await admin.get("/admin/categories")).text
    await post(admin, f"/admin/categories/{gifts.id}/active", active="1")
    assert (await categories(ctx))["gifts"].is_active
    assert await actions(ctx) == [
        "category.created",
        "category.created",
        "category.created",
        "category.updated",
        "category.updated",
        "category.updated",
    ]
    async with ctx.db.session() as session:
        entry = (
            (
                await session.execute(
                    select(AuditEntry)
                    .where(AuditEntry.object_id == str(moved.id))
                    .order_by(AuditEntry.id.desc())
                )
            )
            .scalars()
            .first()
        )
    assert entry is not None
    assert '"parent_id": [' in (entry.changes or "")
    assert '"slug": ["shirts", "tops"]' in (entry.changes or "")


async def test_a_move_under_itself_or_a_descendant_is_refused(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    async with ctx.db.session() as session:
        top = await taxonomy.create_category(session, CategoryIn(name="Top", slug="top"))
        middle = await taxonomy.create_category(
            session, CategoryIn(name="Middle", slug="middle", parent_id=top.id)
        )
        leaf = await taxonomy.create_category(
            session, CategoryIn(name="Leaf", slug="leaf", parent_id=middle.id)
        )
    for parent in (leaf.id, top.id):
        refused = await post(
            admin,
            f"/admin/categories/{top.id}",
            name="Top",
            slug="top",
            description="",
            parent_id=str(parent),
        )
        assert refused.status_code == 409
        assert "cannot move under itself or one of its descendants" in refused.text
    found = await categories(ctx)
    assert found["top"].parent_id is None
    assert found["leaf"].path == f"/{top.id}/{middle.id}/{leaf.id}/"
    assert await actions(ctx) == []


async def test_reorder_siblings_with_up_and_down(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    async with ctx.db.session() as session:
        made = [
            await taxonomy.create_category(session, CategoryIn(name=n))
            for n in ("Apples", "Bananas", "Cherries")
        ]
    assert tree_order((await admin.get("/admin/categories")).text) == ["Apples", "Bananas", "Cherries"]
    moved = await post(admin, f"/admin/categories/{made[2].id}/step", direction="up")
    assert moved.status_code == 303
    assert tree_order((await admin.get("/admin/categories")).text) == ["Apples", "Cherries", "Bananas"]
    await post(admin, f"/admin/categories/{made[0].id}/step", direction="down")
    assert tree_order((await admin.get("/admin/categories")).text) == ["Cherries", "Apples", "Bananas"]
    first = await post(admin, f"/admin/categories/{made[2].id}/step", direction="up")
    page = await admin.get(first.headers["location"])
    assert "is already first" in page.text
    assert tree_order(page.text) == ["Cherries", "Apples", "Bananas"]
    assert await actions(ctx) == ["category.reordered", "category.reordered"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Name:"),
        ({"name": "x" * 121}, "Name:"),
        ({"name": "Ok", "slug": "Not a slug!"}, "Slug:"),
        ({"name": "Ok", "parent_id": "999999"}, "The parent category does not exist."),
        ({"name": "Ok", "parent_id": "abc"}, ""),
        ({"name": "Ok", "description": "d" * 5001}, ""),
        ({"name": "Clothing", "slug": "clothing"}, "already exists"),
    ],
)
async def test_hostile_category_forms_change_nothing(
    ctx: AppContext, staff_client: StaffClientFactory, fields: dict[str, str], message: str
) -> None:
    admin = await staff_client("admin")
    async with ctx.db.session() as session:
        await taxonomy.create_category(session, CategoryIn(name="Clothing", slug="clothing"))
    values = {"name": "", "slug": "", "description": "", "parent_id": "", **fields}
    refused = await post(admin, "/admin/categories", **values)
    assert refused.status_code in (409, 422)
    assert "text/html" in refused.headers["content-type"]
    assert message in refused.text
    assert list(await categories(ctx)) == ["clothing"]
    assert (
        await post(admin, "/admin/categories/999999", name="X", slug="", description="", parent_id="")
    ).status_code == 404
    assert (await post(admin, "/admin/categories/1/step", direction="sideways")).status_code == 422


async def test_brands_add_rename_and_delete_unless_in_use(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    token = await checked(admin, GOOD)
    assert (await apply(admin, token)).status_code == 303  # products of "Loom & Line" and "Mithas"
    listing = await admin.get("/admin/brands")
    assert "Loom &amp; Line" in listing.text
    added = await post(admin, "/admin/brands", name="Acme", slug="", description="")
    assert added.status_code == 303
    duplicate = await post(admin, "/admin/brands", name="acme", slug="", description="")
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.text
    async with ctx.db.session() as session:
        by_name = {b.name: b for b in (await session.execute(select(Brand))).scalars()}
    acme, mithas = by_name["Acme"], by_name["Mithas"]
    renamed = await post(
        admin, f"/admin/brands/{acme.id}", name="Acme Works", slug="acme-works", description=""
    )
    assert renamed.status_code == 303
    in_use = await post(admin, f"/admin/brands/{mithas.id}/delete")
    assert in_use.status_code == 409
    assert "Products still carry this brand" in in_use.text
    deleted = await post(admin, f"/admin/brands/{acme.id}/delete")
    assert deleted.status_code == 303
    async with ctx.db.session() as session:
        names = sorted(b.name for b in (await session.execute(select(Brand))).scalars())
    assert names == ["Loom & Line", "Mithas"]
    assert [a for a in await actions(ctx) if a.startswith("brand.")] == [
        "brand.created",
        "brand.updated",
        "brand.deleted",
    ]
    bad = await post(admin, f"/admin/brands/{mithas.id}", name="", slug="", description="")
    assert bad.status_code == 422
    assert (await admin.get("/admin/brands/999999")).status_code == 404


async def test_support_is_refused_everywhere(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    support = await staff_client("support")
    async with ctx.db.session() as session:
        category = await taxonomy.create_category(session, CategoryIn(name="Kept"))
        brand = await taxonomy.create_brand(session, BrandIn(name="Kept"))
    for url in (
        "/admin/categories",
        f"/admin/categories/{category.id}",
        "/admin/brands",
        f"/admin/brands/{brand.id}",
    ):
        assert (await support.get(url)).status_code == 403, url
    for url, fields in (
        ("/admin/categories", {"name": "New"}),
        (f"/admin/categories/{category.id}/step", {"direction": "up"}),
        (f"/admin/categories/{category.id}/active", {"active": "0"}),
        (f"/admin/brands/{brand.id}/delete", {}),
    ):
        assert (await post(support, url, **fields)).status_code == 403, url
    home = await support.get("/admin")
    assert 'href="/admin/categories"' not in home.text
    assert await actions(ctx) == []


async def test_the_list_pages_cost_a_fixed_number_of_statements(
    ctx: AppContext, staff_client: StaffClientFactory, engine: AsyncEngine
) -> None:
    admin = await staff_client("admin")
    counts: dict[str, set[int]] = {"/admin/categories": set(), "/admin/brands": set()}
    for size in (1, 15):
        async with ctx.db.session() as session:
            parent = None
            for n in range(size):
                made = await taxonomy.create_category(
                    session, CategoryIn(name=f"C{size}-{n}", parent_id=parent)
                )
                parent = made.id if n % 3 else parent
                await taxonomy.create_brand(session, BrandIn(name=f"B{size}-{n}"))
        for url, seen in counts.items():
            with count_statements(engine) as sent:
                assert (await admin.get(url)).status_code == 200
            seen.add(len(sent))
    # The staff session, then the tree (or brands) and the product counts.
    assert counts == {"/admin/categories": {3}, "/admin/brands": {3}}
