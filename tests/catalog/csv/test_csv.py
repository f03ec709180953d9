"""CSV import and export of the catalog: round trips, shared gram pools, all-or-nothing imports."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from emporium.accounts.service import auth
from emporium.catalog.models import Product, ProductVariant
from emporium.core.context import AppContext
from emporium.demo.service import load_demo
from emporium.inventory.models import StockAdjustment, StockPool
from tests.conftest import sign_up
from tests.core.processes import EMPORIUM, run
from tests.support import STRONG_PASSWORD, bearer, data, error

IMPORT = "/api/v1/admin/catalog/import"
EXPORT = "/api/v1/admin/catalog/export.csv"
HEADER = (
    "product_slug,product_name,description,category_slug,brand,tags,status,sku,variant_name,options,price,"
    "pool_key,stock_unit,on_hand,draw_per_unit\n"
)
GOOD = HEADER + (
    "kaju-katli-deluxe,Kaju Katli Deluxe,**Silver leaf** <script>alert(1)</script>,,Mithas,"
    "mithai;gift,active,"
    "KK-250,Kaju Katli 250 g,weight=250 g,9.50,kaju,g,5000,250\n"
    "kaju-katli-deluxe,,,,,,,KK-500,Kaju Katli 500 g,weight=500 g,18.00,kaju,g,,500\n"
    "kaju-katli-deluxe,,,,,,,KK-1000,Kaju Katli 1 kg,weight=1 kg,34.00,kaju,g,,1000\n"
    "linen-shirt,Linen Shirt,Cool in summer,,Loom & Line,,draft,LS-M,Linen Shirt M,size=M,45,,pc,10,1\n"
    "linen-shirt,,,,,,,LS-L,Linen Shirt L,size=L,45,,pc,0,1\n"
)


async def admin_headers(ctx: AppContext, client: httpx.AsyncClient) -> dict[str, str]:
    async with ctx.db.session() as session:
        await auth.create_user(
            session, ctx, email="stock@example.com", password=STRONG_PASSWORD, role="admin"
        )
    body = data(
        await client.post(
            "/api/v1/auth/login", json={"email": "stock@example.com", "password": STRONG_PASSWORD}
        )
    )
    return bearer(body["access_token"])


def upload(text: str | bytes) -> dict[str, tuple[str, bytes, str]]:
    raw = text.encode() if isinstance(text, str) else text
    return {"file": ("catalog.csv", raw, "text/csv")}


async def counts(ctx: AppContext) -> tuple[int, int, int]:
    found: list[int] = []
    async with ctx.db.session() as session:
        for model in (Product, ProductVariant, StockPool):
            found.append(int((await session.execute(select(func.count()).select_from(model))).scalar_one()))
    return found[0], found[1], found[2]


async def test_import_creates_products_with_a_shared_gram_pool(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    headers = await admin_headers(ctx, client)
    summary = data(await client.post(IMPORT, files=upload(GOOD), headers=headers))
    assert summary == {
        "dry_run": False,
        "rows": 5,
        "products_created": 2,
        "products_updated": 0,
        "variants_created": 5,
        "variants_updated": 0,
    }
    async with ctx.db.session() as session:
        sweet = (
            await session.execute(select(Product).where(Product.slug == "kaju-katli-deluxe"))
        ).scalar_one()
        boxes = (
            (
                await session.execute(
                    select(ProductVariant)
                    .where(ProductVariant.product_id == sweet.id)
                    .order_by(ProductVariant.draw_per_unit)
                )
            )
            .scalars()
            .all()
        )
        assert [b.draw_per_unit for b in boxes] == [250, 500, 1000]
        assert len({b.pool_id for b in boxes}) == 1
        pool = await session.get(StockPool, boxes[0].pool_id)
        assert pool is not None
        assert (pool.unit, pool.on_hand) == ("g", 5000)
        assert (sweet.price_min_minor, sweet.price_max_minor) == (950, 3400)
        assert sum(b.is_default for b in boxes) == 1
        assert "<strong>Silver leaf</strong>" in sweet.description_html
        assert "<script" not in sweet.description_html
        adjustments = (
            (await session.execute(select(StockAdjustment).where(StockAdjustment.pool_id == pool.id)))
            .scalars()
            .all()
        )
        assert [(a.delta, a.reason) for a in adjustments] == [(5000, "CSV import")]


async def test_a_bad_row_is_named_and_nothing_is_imported(ctx: AppContext, client: httpx.AsyncClient) -> None:
    headers = await admin_headers(ctx, client)
    before = await counts(ctx)
    bad = GOOD + "broken,Broken,,,,,,BR-1,Broken,,1.001,,pc,1,1\n" + "broken2,B2,,,,,,BR-2,B2,,-3,,pc,1,1\n"
    err = error(await client.post(IMPORT, files=upload(bad), headers=headers), 422)
    assert err["code"] == "CSV_ROWS_INVALID"
    fields = {d["field"] for d in err["details"]}
    assert fields == {"row 7: price", "row 8: price"}
    assert await counts(ctx) == before


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("product_slug,sku\nx,Y\n", "row 1: price"),
        ("product_slug,sku,price,colour\nx,Y,1,red\n", "row 1: colour"),
        (HEADER + "Not A Slug,N,,,,,,S-1,S,,1,,pc,1,1\n", "row 2: product_slug"),
        (HEADER + "a,A,,,,,,S-1,S,,1,,pc,1,1\nb,B,,,,,,s-1,S,,1,,pc,1,1\n", "row 3: sku"),
        (HEADER + "a,A,,no-such-category,,,,S-1,S,,1,,pc,1,1\n", "row 2: category_slug"),
        (HEADER + "a,A,,,,,,S-1,S,size,1,,pc,1,1\n", "row 2: options"),
        (HEADER + "a,A,,,,,,S-1,S,,1,,kg,1,1\n", "row 2: stock_unit"),
        (HEADER + "a,A,,,,,,S-1,S,,19.99,,pc,-1,1\n", "row 2: on_hand"),
        (HEADER + "a,A,,,,,,S-1,S,,19.99,,pc,1,0\n", "row 2: draw_per_unit"),
        (HEADER + "a,A,,,,,,S-1,S,,NaN,,pc,1,1\n", "row 2: price"),
        (HEADER + "a,A\x00,,,,,,S-1,S,,1,,pc,1,1\n", "row 2: product_name"),
        (HEADER + "a,A,,,,,,S-1,S,,1,,pc,1,1,extra\n", "row 2"),
        (HEADER + "a,,,,,,,S-1,S,,1,,pc,1,1\n", "row 2: product_name"),
    ],
)
async def test_hostile_files_are_refused_with_the_row_named(
    ctx: AppContext, client: httpx.AsyncClient, text: str, field: str
) -> None:
    headers = await admin_headers(ctx, client)
    before = await counts(ctx)
    err = error(await client.post(IMPORT, files=upload(text), headers=headers), 422)
    assert field in {d["field"] for d in err["details"]}, err
    assert await counts(ctx) == before


async def test_non_utf8_and_permissions(ctx: AppContext, client: httpx.AsyncClient) -> None:
    headers = await admin_headers(ctx, client)
    assert (
        error(await client.post(IMPORT, files=upload(b"\xff\xfe\x00bad"), headers=headers), 422)["code"]
        == "INVALID_CSV"
    )
    assert error(await client.post(IMPORT, files=upload(GOOD)), 401)
    customer = await sign_up(client, "shopper@example.com")
    assert error(await client.post(IMPORT, files=upload(GOOD), headers=customer.headers), 403)
    assert error(await client.get(EXPORT, headers=customer.headers), 403)


async def test_dry_run_counts_and_writes_nothing(ctx: AppContext, client: httpx.AsyncClient) -> None:
    headers = await admin_headers(ctx, client)
    before = await counts(ctx)
    summary = data(await client.post(f"{IMPORT}?dry_run=true", files=upload(GOOD), headers=headers))
    assert summary["dry_run"] is True
    assert (summary["products_created"], summary["variants_created"]) == (2, 5)
    assert await counts(ctx) == before


async def test_stock_below_reserved_is_refused_and_nothing_changes(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    headers = await admin_headers(ctx, client)
    data(await client.post(IMPORT, files=upload(GOOD), headers=headers))
    async with ctx.db.session() as session:
        variant = (
            await session.execute(select(ProductVariant).where(ProductVariant.sku == "LS-M"))
        ).scalar_one()
        await session.execute(update(StockPool).where(StockPool.id == variant.pool_id).values(reserved=4))
    lowered = GOOD.replace("45,,pc,10,1", "45,,pc,3,1").replace("**Silver leaf**", "Changed")
    err = error(await client.post(IMPORT, files=upload(lowered), headers=headers), 422)
    assert {d["field"] for d in err["details"]} == {"row 5: on_hand"}
    async with ctx.db.session() as session:
        pool = await session.get(StockPool, variant.pool_id)
        assert pool is not None
        assert pool.on_hand == 10
        sweet = (
            await session.execute(select(Product).where(Product.slug == "kaju-katli-deluxe"))
        ).scalar_one()
        assert "Silver leaf" in sweet.description_html  # the earlier rows were not half-applied


async def test_export_imports_back_unchanged(ctx: AppContext, client: httpx.AsyncClient) -> None:
    headers = await admin_headers(ctx, client)
    await load_demo(ctx, images=False)
    response = await client.get(EXPORT, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    exported = response.text
    rows = list(csv.DictReader(io.StringIO(exported)))
    before = await counts(ctx)
    assert len(rows) == before[1]
    summary = data(await client.post(IMPORT, files=upload(exported), headers=headers))
    assert (summary["products_created"], summary["variants_created"]) == (0, 0)
    assert summary["variants_updated"] == before[1]
    assert await counts(ctx) == before
    again = (await client.get(EXPORT, headers=headers)).text
    assert again.splitlines()[1:] == exported.splitlines()[1:]


async def test_cli_import_and_export(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    env = {
        "PATH": "/usr/bin:/bin",
        "EMPORIUM_DATABASE_URL": url,
        "EMPORIUM_LOG_LEVEL": "WARNING",
        "EMPORIUM_ARGON2_MEMORY_COST_KIB": "256",
    }
    assert (await run([EMPORIUM, "migrate"], env, tmp_path)).returncode == 0
    source = tmp_path / "in.csv"
    source.write_text(GOOD + "bad,Bad,,,,,,B-1,B,,x,,pc,1,1\n")
    refused = await run([EMPORIUM, "import", str(source)], env, tmp_path)
    assert refused.returncode == 1
    assert "row 7, price" in refused.stderr
    source.write_text(GOOD)
    dry = await run([EMPORIUM, "import", "--dry-run", str(source)], env, tmp_path)
    assert dry.returncode == 0
    assert "Would import 5 rows: 2 products created" in dry.stdout
    done = await run([EMPORIUM, "import", str(source)], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Imported 5 rows" in done.stdout
    target = tmp_path / "out.csv"
    exported = await run([EMPORIUM, "export", str(target)], env, tmp_path)
    assert exported.returncode == 0
    assert "Exported 5 variant rows" in exported.stdout
    assert {r["sku"] for r in csv.DictReader(target.open())} == {
        "KK-250",
        "KK-500",
        "KK-1000",
        "LS-M",
        "LS-L",
    }


async def test_the_import_route_takes_files_over_the_general_body_limit(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    headers = await admin_headers(ctx, client)
    rows = "".join(
        f"bulk-{i},Bulk {i},{'x' * 200},,,,draft,BULK-{i},Bulk {i},,1.00,,pc,1,1\n" for i in range(6000)
    )
    big = HEADER + rows
    assert len(big.encode()) > ctx.settings.max_request_body_bytes
    summary = data(await client.post(f"{IMPORT}?dry_run=true", files=upload(big), headers=headers))
    assert summary["products_created"] == 6000
    # Every other route still refuses such a body.
    refused = await client.post(
        "/api/v1/auth/login", content=big.encode(), headers={"content-type": "application/json"}
    )
    assert error(refused, 413)["code"] == "PAYLOAD_TOO_LARGE"
