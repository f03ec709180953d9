"""A file of more rows than ``catalog_import_background_rows`` imports as a background job: "Apply" queues it,
the page shows a progress bar that htmx refreshes, the job publishes the rows written as it goes, and the page
ends with the report. A job that died without finishing reads as failed, nothing imported."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from emporium.audit.models import AuditEntry
from emporium.catalog.csv.models import CatalogImport
from emporium.catalog.csv.uploads import progress_key
from emporium.core.jobs.models import Job
from tests.admin.catalog.support import HEADER, IMPORT, apply, checked, product_count
from tests.admin.conftest import new_staff_client
from tests.conftest import MakeContext

ROWS = 240
BIG = HEADER + "".join(f"item-{n},Item {n},,,active,,IT-{n},,,{n}.50,{n}\n" for n in range(ROWS))


async def test_a_large_file_runs_as_a_job_with_progress_and_finishes(make_context: MakeContext) -> None:
    ctx = make_context(catalog_import_background_rows=100)
    admin = await new_staff_client(ctx, "admin")
    try:
        token = await checked(admin, BIG, "big.csv")
        preview = await admin.get(f"{IMPORT}/{token}")
        assert "imported in the background" in preview.text
        started = await apply(admin, token)
        assert started.status_code == 303
        page = await admin.get(started.headers["location"])
        assert "The import has started" in page.text
        assert f'hx-get="/admin/catalog/import/{token}/progress"' in page.text
        assert "<progress" in page.text
        assert "Waiting to start" in page.text
        assert '<meta http-equiv="refresh"' in page.text, "without JavaScript the page reloads itself"
        assert await product_count(ctx) == (0, 0)

        async with ctx.db.session() as session:
            upload = (await session.execute(select(CatalogImport))).scalar_one()
        seen: list[int] = []
        run = asyncio.create_task(ctx.jobs.run_until_idle())
        while not run.done():
            value = await ctx.cache.get(progress_key(upload.id))
            if value is not None:
                seen.append(int(value))
            await asyncio.sleep(0.01)
        await run
        assert seen, "the job published its progress while it ran"
        assert seen == sorted(seen)
        assert all(0 <= n <= ROWS for n in seen)
        assert await ctx.cache.get(progress_key(upload.id)) is None

        assert await product_count(ctx) == (ROWS, ROWS)
        fragment = await admin.get(f"{IMPORT}/{token}/progress")
        assert fragment.status_code == 200
        assert "hx-get" not in fragment.text, "a finished import stops the polling"
        assert "Imported big.csv" in fragment.text
        assert f"<dt>Products created</dt><dd>{ROWS}</dd>" in fragment.text
        assert f'value="{ROWS}"' in fragment.text
        async with ctx.db.session() as session:
            entry = (
                await session.execute(select(AuditEntry).where(AuditEntry.action == "catalog.imported"))
            ).scalar_one()
        assert entry.actor_email == admin.email
    finally:
        await admin.aclose()


async def test_the_progress_bar_shows_the_rows_written(make_context: MakeContext) -> None:
    ctx = make_context(catalog_import_background_rows=100)
    admin = await new_staff_client(ctx, "admin")
    try:
        token = await checked(admin, BIG)
        await apply(admin, token)
        async with ctx.db.session() as session:
            await session.execute(update(CatalogImport).values(status="running"))
            upload = (await session.execute(select(CatalogImport))).scalar_one()
        checking = await admin.get(f"{IMPORT}/{token}/progress")
        assert "Checking the rows" in checking.text
        await ctx.cache.set(progress_key(upload.id), "75", 60)
        fragment = await admin.get(f"{IMPORT}/{token}/progress")
        assert f"75 of {ROWS} rows written" in fragment.text
        assert f'max="{ROWS}" value="75"' in fragment.text
        assert "hx-trigger" in fragment.text
    finally:
        await admin.aclose()


async def test_a_job_that_died_reads_as_failed_with_nothing_imported(make_context: MakeContext) -> None:
    ctx = make_context(catalog_import_background_rows=100)
    admin = await new_staff_client(ctx, "admin")
    try:
        token = await checked(admin, BIG)
        await apply(admin, token)
        async with ctx.db.session() as session:
            await session.execute(update(Job).where(Job.name == "catalog.import_csv").values(status="dead"))
        page = await admin.get(f"{IMPORT}/{token}")
        assert "Nothing was imported" in page.text
        assert "hx-get" not in page.text
        assert await product_count(ctx) == (0, 0)
    finally:
        await admin.aclose()
