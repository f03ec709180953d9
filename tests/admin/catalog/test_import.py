"""/admin/catalog/import: a file with a bad row is refused naming the row and column, with nothing written or
kept; the fixed file previews its counts and imports on "Apply", audited, with the catalog cache stamp
changed; only the uploader may apply; hostile files answer with a message and change nothing."""

from __future__ import annotations

import html
from datetime import timedelta

from sqlalchemy import func, select, update

from emporium.audit.models import AuditEntry
from emporium.catalog.cache import VERSION_KEY
from emporium.catalog.csv.models import CatalogImport
from emporium.catalog.models import Product, ProductVariant
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.inventory.models import StockPool
from tests.admin.catalog.support import BAD, GOOD, HEADER, IMPORT, apply, checked, product_count, upload
from tests.admin.conftest import StaffClientFactory, new_staff_client
from tests.conftest import MakeContext


async def kept_uploads(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(CatalogImport))).scalar_one())


async def test_a_bad_row_is_named_and_nothing_is_imported_then_the_fixed_file_imports(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    form = await admin.get(IMPORT)
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text

    refused = await upload(admin, BAD, "spring.csv")
    assert refused.status_code == 422
    assert "Nothing was imported: 1 problem in spring.csv" in refused.text
    row = refused.text.split('<td class="num">3</td>', 1)
    assert len(row) == 2, "row 3 is named"
    assert "<code>price</code>" in row[1].split("</tr>", 1)[0]
    assert await product_count(ctx) == (0, 0)
    assert await kept_uploads(ctx) == 0

    stamp = await ctx.cache.get(VERSION_KEY)
    token = await checked(admin, GOOD, "spring.csv")
    preview = await admin.get(f"{IMPORT}/{token}")
    assert preview.status_code == 200
    assert "The file is ready to import" in preview.text
    assert "<dt>Products created</dt><dd>2</dd>" in preview.text
    assert "<dt>Variants created</dt><dd>3</dd>" in preview.text
    assert await product_count(ctx) == (0, 0), "the preview writes nothing"

    done = await apply(admin, token)
    assert done.status_code == 303
    assert await product_count(ctx) == (2, 3)
    report = await admin.get(done.headers["location"])
    assert "Imported 3 rows: 2 products created, 0 updated." in report.text
    assert "Imported spring.csv" in report.text
    assert await ctx.cache.get(VERSION_KEY) != stamp, "the catalog's cached pages are dropped"
    async with ctx.db.session() as session:
        entry = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "catalog.imported"))
        ).scalar_one()
        upload_row = (await session.execute(select(CatalogImport))).scalar_one()
    assert entry.actor_email == admin.email
    assert entry.object_label == "spring.csv"
    assert '"products_created": [null, 2]' in (entry.changes or "")
    assert upload_row.status == "done"
    assert upload_row.content == "", "the file's text is dropped once imported"

    again = await apply(admin, token)
    assert again.status_code == 409
    assert "already been applied" in again.text
    assert await product_count(ctx) == (2, 3)


async def test_every_bad_row_and_column_is_listed(staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    text = HEADER + (
        "Not A Slug,Shirt,,,active,,S-1,,,1.00,1\n"
        "shirt-2,Shirt,,,sold,,S-2,,,1.00,lots\n"
        "shirt-3,Shirt,,,active,,S 2!,,,2.00,-1\n"
    )
    refused = await upload(admin, text)
    assert refused.status_code == 422
    cells = [
        ("2", "product_slug"),
        ("3", "status"),
        ("3", "on_hand"),
        ("4", "sku"),
        ("4", "on_hand"),
    ]
    for row, column in cells:
        assert f'<td class="num">{row}</td><td><code>{column}</code></td>' in refused.text, (row, column)


async def test_another_staff_member_cannot_see_or_apply_an_upload(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    owner = await staff_client("admin")
    other = await staff_client("super_admin")
    token = await checked(owner, GOOD)
    assert (await other.get(f"{IMPORT}/{token}")).status_code == 404
    assert (await other.get(f"{IMPORT}/{token}/progress")).status_code == 404
    refused = await apply(other, token)
    assert refused.status_code == 404
    assert await product_count(ctx) == (0, 0)
    assert (await apply(owner, token)).status_code == 303
    assert await product_count(ctx) == (2, 3)


async def test_an_expired_upload_is_refused(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    token = await checked(admin, GOOD)
    async with ctx.db.session() as session:
        await session.execute(update(CatalogImport).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = await apply(admin, token)
    assert refused.status_code == 409
    assert "This upload has expired" in refused.text
    assert await product_count(ctx) == (0, 0)


async def test_the_catalog_changed_since_the_preview_refuses_the_whole_file(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    """Between preview and apply another file gave SKU KK-250 to another product: nothing is imported."""
    admin = await staff_client("admin")
    token = await checked(admin, GOOD)
    other = await checked(admin, HEADER + "barfi,Barfi,,,active,,KK-250,Barfi,,3.00,5\n")
    assert (await apply(admin, other)).status_code == 303
    assert await product_count(ctx) == (1, 1)
    failed = await apply(admin, token)
    assert failed.status_code == 303
    page = await admin.get(failed.headers["location"])
    assert "Nothing was imported" in page.text
    assert "this SKU belongs to another product" in page.text
    assert await product_count(ctx) == (1, 1)


async def test_hostile_files_answer_with_a_message_and_change_nothing(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    cases: list[tuple[str | bytes, str]] = [
        (png, "it holds binary data"),
        ("product_slug,sku,price\nshirt,S-1,1.00\n".encode("utf-16"), "binary data"),
        ("nom,prix\nchemise,1\n".encode("latin-1") + b"\xe9\n", "not UTF-8"),
        ("", "The file is empty."),
        ("just some words, not a catalog\n", "unknown column"),
        ('product_slug,sku,price\n"unclosed,S-1,1.00\n', "required"),
        (HEADER + "shirt,Shirt,,,active,,S-1,,,1.00,1,extra-cell\n", "more cells than the header"),
    ]
    for body, message in cases:
        response = await upload(admin, body)
        assert response.status_code == 422, (body[:40], response.text[:300])
        assert message in html.unescape(response.text), (body[:40], message)
    missing = await admin.post(IMPORT, data={"csrf_token": admin.csrf})
    assert missing.status_code == 422
    assert "Choose the CSV file" in missing.text
    no_token = await admin.post(IMPORT, files={"file": ("a.csv", GOOD.encode(), "text/csv")})
    assert no_token.status_code == 403
    bogus = await apply(admin, "x" * 30)
    assert bogus.status_code == 404
    assert (await admin.get(f"{IMPORT}/not-a-token!")).status_code in (404, 422)
    assert await product_count(ctx) == (0, 0)
    assert await kept_uploads(ctx) == 0


async def test_a_file_over_the_size_limit_is_refused_with_a_message(make_context: MakeContext) -> None:
    ctx = make_context(max_import_bytes=2048)
    admin = await new_staff_client(ctx, "admin")
    try:
        big = HEADER + "".join(f"p-{n},Product {n},,,active,,SKU-{n},,,1.00,1\n" for n in range(100))
        assert len(big) > 2048
        response = await upload(admin, big)
        assert response.status_code == 413
        assert "The file is larger than 2 KB" in response.text
        assert await product_count(ctx) == (0, 0)
        far_too_big = await upload(admin, "x" * (2048 + 70 * 1024))
        assert far_too_big.status_code == 413
    finally:
        await admin.aclose()


async def test_formula_cells_and_markup_in_names_stay_text(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    text = HEADER + (
        'evil,"=HYPERLINK(""http://x.test"",""<script>alert(1)</script>"")",,"<img src=x onerror=alert(1)>",'
        "active,,EV-1,@SUM(A1),,1.00,1\n"
    )
    token = await checked(admin, text, "<b>x</b>.csv")
    preview = await admin.get(f"{IMPORT}/{token}")
    assert "<b>x</b>" not in preview.text
    assert "&lt;b&gt;x&lt;/b&gt;.csv" in preview.text
    assert (await apply(admin, token)).status_code == 303
    async with ctx.db.session() as session:
        product = (await session.execute(select(Product))).scalar_one()
    assert product.name.startswith("=HYPERLINK(")
    exported = (await admin.get("/admin/catalog/export")).text
    assert "'=HYPERLINK(" in exported
    assert "'@SUM(A1)" in exported
    brands = await admin.get("/admin/brands")
    assert "<img src=x" not in brands.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in brands.text


async def test_support_may_not_import(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    support = await staff_client("support")
    assert (await support.get(IMPORT)).status_code == 403
    assert (await upload(support, GOOD)).status_code == 403
    assert (await support.get("/admin/catalog/export")).status_code == 403
    assert await product_count(ctx) == (0, 0)


async def test_the_preview_names_what_the_stock_pools_refuse(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    """A gram pool stays a gram pool (a blank unit keeps it), and stock reserved by orders stays: the dry run
    names both, before anything is applied."""
    admin = await staff_client("admin")
    header = "product_slug,product_name,sku,price,stock_unit,on_hand\n"
    token = await checked(admin, header + "barfi,Barfi,BF-1,3.00,g,5000\n")
    assert (await apply(admin, token)).status_code == 303
    async with ctx.db.session() as session:
        pool_id = (await session.execute(select(ProductVariant.pool_id))).scalar_one()
        await session.execute(update(StockPool).where(StockPool.id == pool_id).values(reserved=1000))
    refused = await upload(admin, header + "barfi,,BF-1,3.00,pc,\n")
    assert refused.status_code == 422
    assert '<td class="num">2</td><td><code>stock_unit</code></td>' in refused.text
    below = await upload(admin, header + "barfi,,BF-1,3.00,,500\n")
    assert below.status_code == 422
    assert "1000 are reserved by orders" in below.text
    kept = await checked(admin, header + "barfi,,BF-1,3.50,,4000\n")
    assert (await apply(admin, kept)).status_code == 303
    async with ctx.db.session() as session:
        pool = (await session.execute(select(StockPool).where(StockPool.id == pool_id))).scalar_one()
    assert (pool.unit, pool.on_hand) == ("g", 4000)
