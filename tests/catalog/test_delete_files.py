"""Deleting a product removes the stored files of its images once the deletion is committed; an archived
product (or a rolled-back deletion) keeps them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.catalog.media.service import REMOVE_FILES_JOB, remove_image_files
from emporium.catalog.models import ProductImage
from emporium.catalog.service import catalog
from emporium.core.jobs import enqueue
from emporium.core.jobs.models import Job, JobStatus
from tests.catalog.media.conftest import MediaApp, build_media_app
from tests.catalog.media.images import jpeg_with_exif, png_with_alpha
from tests.conftest import MakeContext
from tests.support import count_statements, data

API = "/api/v1"


@pytest.fixture
async def app(make_context: MakeContext, tmp_path: Path) -> AsyncIterator[MediaApp]:
    async for built in build_media_app(make_context, tmp_path / "media"):
        yield built


def files_of(app: MediaApp, product_id: int) -> list[str]:
    folder = app.media_dir / "products" / str(product_id)
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


async def upload(app: MediaApp, product_id: int, picture: bytes) -> None:
    files = {"file": ("photo", picture, "application/octet-stream")}
    data(await app.client.post(f"{API}/products/{product_id}/images", files=files, headers=app.admin), 201)


async def jobs(app: MediaApp) -> list[tuple[str, str]]:
    """The file removal jobs (signing up the test users enqueues e-mails too)."""
    async with app.ctx.db.session() as session:
        found = await session.scalars(select(Job).where(Job.name == REMOVE_FILES_JOB))
        return [(j.name, j.status) for j in found.all()]


async def test_deleting_a_product_removes_its_files_after_the_commit(
    app: MediaApp, engine: AsyncEngine
) -> None:
    doomed = await app.product("doomed-lamp")
    kept = await app.product("kept-lamp")
    await upload(app, doomed, jpeg_with_exif(900, 600))
    await upload(app, doomed, png_with_alpha())
    await upload(app, kept, jpeg_with_exif(900, 600))  # the same picture on another product
    assert len(files_of(app, doomed)) == 6
    assert len(files_of(app, kept)) == 3

    with count_statements(engine) as statements:
        result = data(await app.client.delete(f"{API}/products/{doomed}", headers=app.admin))
    print(f"statements: delete product with 2 images={len(statements)}")
    assert result == {"id": doomed, "result": "deleted"}
    # The removal is a job written in the deleting transaction; it runs after the commit.
    assert await jobs(app) == [(REMOVE_FILES_JOB, JobStatus.PENDING)]
    await app.ctx.jobs.run_until_idle()

    assert files_of(app, doomed) == []
    assert len(files_of(app, kept)) == 3
    assert await jobs(app) == [(REMOVE_FILES_JOB, JobStatus.DONE)]
    async with app.ctx.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ProductImage)) == 1


async def test_a_product_without_images_enqueues_nothing(app: MediaApp) -> None:
    bare = await app.product("bare-shelf")
    assert data(await app.client.delete(f"{API}/products/{bare}", headers=app.admin))["result"] == "deleted"
    assert await jobs(app) == []


async def test_an_archived_product_keeps_its_files(app: MediaApp) -> None:
    sold = await app.product("sold-chair")
    variant = await app.variant(sold, "CHAIR-1")
    await upload(app, sold, jpeg_with_exif(900, 600))
    async with app.ctx.db.session() as session:
        # A table recording sales, as the orders issue will add: it blocks the delete, so the product
        # is archived (the whole test runs in a transaction that is rolled back, table included).
        await session.execute(
            text(
                "CREATE TABLE test_sale_lines (id INTEGER PRIMARY KEY, variant_id BIGINT NOT NULL "
                "REFERENCES product_variants(id) ON DELETE RESTRICT)"
            )
        )
        await session.execute(
            text("INSERT INTO test_sale_lines (id, variant_id) VALUES (1, :v)"), {"v": variant}
        )

    result = data(await app.client.delete(f"{API}/products/{sold}", headers=app.admin))
    assert result == {"id": sold, "result": "archived"}
    await app.ctx.jobs.run_until_idle()
    assert await jobs(app) == []
    assert len(files_of(app, sold)) == 3
    assert len(data(await app.client.get(f"{API}/products/{sold}/images", headers=app.admin))) == 1


async def test_a_rolled_back_delete_keeps_the_files(app: MediaApp) -> None:
    product_id = await app.product("second-thoughts")
    await upload(app, product_id, png_with_alpha())

    async def delete_then_fail() -> None:
        async with app.ctx.db.session() as session:
            assert await catalog.delete_product(session, product_id) == "deleted"
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        await delete_then_fail()
    await app.ctx.jobs.run_until_idle()
    assert await jobs(app) == []
    assert len(files_of(app, product_id)) == 3


async def test_the_job_spares_files_that_an_image_points_at_again(app: MediaApp) -> None:
    # SQLite may give a deleted product's id to a new one; a re-upload of the same picture then has the
    # same file names, which a late removal job must not take away.
    product_id = await app.product("reborn")
    await upload(app, product_id, png_with_alpha())
    async with app.ctx.db.session() as session:
        image = (await session.scalars(select(ProductImage))).one()
        keys = list(image.files.values())
        enqueue(
            session, REMOVE_FILES_JOB, {"product_id": product_id, "keys": [*keys, "products/x/gone.webp"]}
        )
    await app.ctx.jobs.run_until_idle()
    assert len(files_of(app, product_id)) == 3
    assert await jobs(app) == [(REMOVE_FILES_JOB, JobStatus.DONE)]


async def test_a_malformed_payload_is_a_permanent_failure(app: MediaApp) -> None:
    from emporium.core.jobs import PermanentJobError

    with pytest.raises(PermanentJobError):
        await remove_image_files(app.ctx, {"keys": "nope"})
