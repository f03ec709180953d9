"""The product details editor: creating a sellable product with its first variant, editing every field with
an audit entry of what changed, the live previews, and hostile input refused with a message per field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from emporium.audit.models import AuditEntry
from emporium.catalog.models import Product, ProductTag, ProductVariant
from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from tests.admin.conftest import StaffClient, StaffClientFactory
from tests.admin.products.conftest import product_row, shelf
from tests.inventory.factory import make_product


def _new(client: StaffClient, **fields: Any) -> dict[str, Any]:
    return {
        "csrf_token": client.csrf,
        "name": "Linen shirt",
        "slug": "",
        "description": "Soft **linen**.",
        "description_format": "markdown",
        "category_id": "",
        "brand_id": "",
        "tags": "linen, Summer",
        "seo_title": "",
        "seo_description": "",
        "status": "active",
        "sku": "LIN-S",
        "price": "39.90",
        "compare_at_price": "",
        "on_hand": "12",
        **fields,
    }


async def _products(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Product)) or 0)


async def test_a_new_product_is_sellable_with_its_first_variant_and_stock(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    made = await shelf(ctx)
    admin = await staff_client("admin")
    form = await admin.get("/admin/products/new")
    assert form.status_code == 200
    assert "First variant" in form.text
    response = await admin.post(
        "/admin/products/new",
        data=_new(admin, category_id=str(made.shirts.id), brand_id=str(made.acme.id), featured="yes"),
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    details = await admin.get(location)
    assert "is created" in details.text
    assert 'href="/admin/products/' in details.text
    assert "/variants" in details.text
    product_id = int(location.rsplit("/", 1)[1])
    async with ctx.db.session() as session:
        product = await session.get(Product, product_id)
        assert product is not None
        assert (product.slug, product.status, product.is_featured) == ("linen-shirt", "active", True)
        assert product.description_html == "<p>Soft <strong>linen</strong>.</p>"
        assert (product.description_source, product.description_format) == ("Soft **linen**.", "markdown")
        assert product.price_min_minor == 3990
        variant = await session.scalar(select(ProductVariant).where(ProductVariant.product_id == product_id))
        assert variant is not None
        assert (variant.sku, variant.price_minor, variant.is_default) == ("LIN-S", 3990, True)
        pool = await session.get(StockPool, variant.pool_id)
        assert pool is not None
        assert pool.on_hand == 12
        tags = (
            await session.scalars(select(ProductTag.tag).where(ProductTag.product_id == product_id))
        ).all()
        assert sorted(tags) == ["linen", "summer"]
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "product.created"))
        assert entry is not None
        assert json.loads(entry.changes or "{}")["sku"] == [None, "LIN-S"]
    shop = await admin.get("/p/linen-shirt")
    assert shop.status_code == 200
    assert "39.90" in shop.text


async def test_editing_the_details_saves_every_field_with_an_audit_of_the_changes(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    made = await shelf(ctx)
    admin = await staff_client("admin")
    product_id = made.ids["Golf scarf"]
    page = await admin.get(f"/admin/products/{product_id}")
    assert page.status_code == 200
    assert 'aria-current="page">Details</a>' in page.text
    data = _new(
        admin,
        name="Golf scarf, wool",
        slug="golf-scarf-wool",
        description="## Warm\n\n- wool\n- long",
        category_id=str(made.clothes.id),
        brand_id=str(made.globex.id),
        tags="wool, winter",
        seo_title="Wool golf scarf",
        seo_description="A long wool scarf for the course.",
        status="active",
    )
    response = await admin.post(f"/admin/products/{product_id}", data=data)
    assert response.status_code == 303, response.text
    product = await product_row(ctx, product_id)
    assert (product.name, product.slug, product.category_id, product.brand_id) == (
        "Golf scarf, wool",
        "golf-scarf-wool",
        made.clothes.id,
        made.globex.id,
    )
    assert product.description_html.startswith("<h2>Warm</h2>")
    assert (product.seo_title, product.status, product.is_featured) == ("Wool golf scarf", "active", False)
    async with ctx.db.session() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "product.updated"))
        assert entry is not None
        changes = json.loads(entry.changes or "{}")
    assert changes["name"] == ["Golf scarf", "Golf scarf, wool"]
    assert changes["status"] == ["draft", "active"]
    assert changes["tags"] == ["", "winter, wool"]
    assert "is_featured" not in changes
    again = await admin.get(f"/admin/products/{product_id}")
    assert "## Warm" in again.text
    assert 'value="winter, wool"' in again.text


async def test_a_product_without_a_kept_source_offers_its_html(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        made = await make_product(session, "Old lamp", description="<p>From the <em>API</em></p>")
    admin = await staff_client("admin")
    page = await admin.get(f"/admin/products/{made.product.id}")
    assert "&lt;p&gt;From the &lt;em&gt;API&lt;/em&gt;&lt;/p&gt;" in page.text
    assert '<option value="html" selected>' in page.text


async def test_the_previews_answer_as_the_shop_shows(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    headers = {"X-CSRF-Token": admin.csrf, "HX-Request": "true"}
    described = await admin.post(
        "/admin/products/description-preview",
        data={"description": "**Bold** <script>alert(1)</script> [x](javascript:alert(1))"},
        headers=headers,
    )
    assert described.status_code == 200
    assert "<strong>Bold</strong>" in described.text
    assert "<script>" not in described.text
    assert 'href="javascript' not in described.text
    as_html = await admin.post(
        "/admin/products/description-preview",
        data={
            "description": '<p onclick="x()">Hi<script>alert(1)</script></p>',
            "description_format": "html",
        },
        headers=headers,
    )
    assert "<p>Hi</p>" in as_html.text
    seo = await admin.post(
        "/admin/products/seo-preview",
        data={"name": "Tea <b>pot</b>", "slug": "tea-pot", "seo_title": "", "seo_description": "x" * 300},
        headers=headers,
    )
    assert "http://shop.test/p/tea-pot" in seo.text
    assert "Tea &lt;b&gt;pot&lt;/b&gt; · Emporium" in seo.text
    assert "x" * 159 + "…" in seo.text
    refused = await admin.post("/admin/products/seo-preview", data={"name": "x"})
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Give the product a name"),
        ({"name": "<script>alert(1)</script>"}, "Leave out &lt; and &gt;"),
        ({"name": "x" * 201}, "at most 200"),
        ({"name": "Nul\x00name"}, "control characters"),
        ({"tags": "ok, <img src=x onerror=alert(1)>"}, "Leave out &lt; and &gt;"),
        ({"tags": ", ".join(f"t{i}" for i in range(31))}, "at most 30 tags"),
        ({"seo_title": "<b>x</b>"}, "Leave out &lt; and &gt;"),
        ({"slug": "Not A Slug!"}, "A slug is lower-case"),
        ({"slug": "12345"}, "A slug is lower-case"),
        ({"slug": "search"}, "reserved"),
        ({"status": "deleted"}, "Choose draft, active or archived"),
        ({"category_id": "987654"}, "category does not exist"),
        ({"category_id": "1 OR 1=1"}, "Choose a category"),
        ({"brand_id": "-3"}, "Choose a brand"),
        ({"description": "x\x00y"}, "control characters"),
        ({"sku": "BAD SKU"}, "A SKU is letters"),
        ({"sku": "ALPHA-1"}, "already exists"),
        ({"price": "-1"}, "Give the price"),
        ({"price": "1e400"}, "Give the price"),
        ({"price": "1.999"}, "2 decimal places"),
        ({"on_hand": "-4"}, "whole number"),
        ({"on_hand": "9" * 20}, "whole number"),
    ],
)
async def test_hostile_input_on_create_is_refused_with_a_message_and_nothing_created(
    ctx: AppContext, staff_client: StaffClientFactory, fields: dict[str, str], message: str
) -> None:
    await shelf(ctx)
    before = await _products(ctx)
    admin = await staff_client("admin")
    response = await admin.post("/admin/products/new", data=_new(admin, **fields))
    assert response.status_code in (409, 422), response.text
    assert message in response.text
    assert "<script>alert" not in response.text
    assert "<img src=x" not in response.text
    assert await _products(ctx) == before


async def test_hostile_input_on_edit_changes_nothing(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    made = await shelf(ctx)
    admin = await staff_client("admin")
    product_id = made.ids["Alpha shirt"]
    before = await product_row(ctx, product_id)
    for fields in (
        {"name": "<svg onload=alert(1)>", "slug": before.slug},
        {"slug": ""},
        {"slug": (await product_row(ctx, made.ids["Bravo coat"])).slug},
        {"category_id": "987654", "slug": before.slug},
    ):
        response = await admin.post(f"/admin/products/{product_id}", data=_new(admin, **fields))
        assert response.status_code in (409, 422)
        assert "<svg onload" not in response.text
    after = await product_row(ctx, product_id)
    assert (after.name, after.slug, after.category_id) == (before.name, before.slug, before.category_id)
    unknown = await admin.get("/admin/products/987654")
    assert unknown.status_code == 404
    assert (await admin.post("/admin/products/987654", data=_new(admin))).status_code == 404
    assert (await admin.get("/admin/products/0")).status_code == 422


async def test_a_description_with_markup_is_stored_sanitised(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    response = await admin.post(
        "/admin/products/new",
        data=_new(admin, description='<script>alert(1)</script>\n\n<img src=x onerror="alert(1)">'),
    )
    assert response.status_code == 303
    async with ctx.db.session() as session:
        html = await session.scalar(select(Product.description_html).where(Product.slug == "linen-shirt"))
    assert html is not None
    assert "<script>" not in html
    assert "<img" not in html
    shop = await admin.get("/p/linen-shirt")
    assert "<script>alert(1)</script>" not in shop.text
