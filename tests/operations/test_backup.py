"""`emporium backup` and `emporium restore`, run as real processes: a shop with orders, payments and
product pictures comes back row for row and byte for byte in a new empty database and media folder, and a
restore refuses a database that holds tables, a damaged archive and a dump of the other database kind
without changing anything.

On PostgreSQL (EMPORIUM_DATABASE_URL set) the shop and its restored copies are new databases on the same
server, named after the test database; on SQLite they are new files."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from emporium.app import create_app
from emporium.catalog.models import ProductImage
from emporium.core.context import AppContext, build_context
from emporium.core.db import create_engine
from emporium.core.migrations import upgrade_async
from tests.catalog.media.conftest import admin_headers
from tests.catalog.media.images import jpeg_with_exif, png_with_alpha
from tests.conftest import make_settings
from tests.core.processes import EMPORIUM, Finished, process_env, run
from tests.core.test_cli import snapshot
from tests.inventory.factory import make_product
from tests.orders.factory import make_cart, make_shipping, order_body
from tests.payments.conftest import GuestOrder, pay_with, start_payment
from tests.support import asgi_client, data

# Tables whose rows the round trip must carry, each of which the shop below fills.
PROVED_TABLES = ("orders", "order_lines", "payments", "payment_transactions", "product_images")


@dataclass
class Shop:
    url: str
    media: Path


async def _on_server(url: str, statement: str) -> None:
    server = create_async_engine(
        make_url(url).set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with server.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await server.dispose()


NewShop = Callable[[str], Awaitable[Shop]]


@pytest.fixture
async def new_shop(database_url: str, tmp_path: Path) -> AsyncIterator[NewShop]:
    """``await new_shop(name)``: a place for a shop with nothing in it: a new PostgreSQL database on the
    test server (named after the test database, so it contains "test"), or a SQLite file not yet made; and
    a media folder not yet made. The databases are dropped when the test ends."""
    made: list[str] = []

    async def build(name: str) -> Shop:
        if not database_url.startswith("postgresql"):
            return Shop(f"sqlite+aiosqlite:///{tmp_path / name / 'shop.db'}", tmp_path / name / "media")
        base = make_url(database_url)
        url = base.set(database=f"{base.database}_{name}").render_as_string(hide_password=False)
        await _on_server(url, f'DROP DATABASE IF EXISTS "{base.database}_{name}" WITH (FORCE)')
        await _on_server(url, f'CREATE DATABASE "{base.database}_{name}"')
        made.append(url)
        return Shop(url, tmp_path / name / "media")

    yield build
    for url in made:
        await _on_server(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def env_of(shop: Shop) -> dict[str, str]:
    return process_env(make_settings(shop.url, None), EMPORIUM_MEDIA_DIR=str(shop.media))


async def place_paid_orders(ctx: AppContext, client: httpx.AsyncClient) -> None:
    """Products with pictures, and orders: two paid by card, one with a declined card, one cash on
    delivery."""
    admin = await admin_headers(ctx, client)
    async with ctx.db.session() as session:
        shipping = await make_shipping(session, price="5.00")
        shipping_id = shipping.id
    pictures = [jpeg_with_exif(900, 600), png_with_alpha(), jpeg_with_exif(640, 480, orientation=1)]
    for number, (method, card) in enumerate(
        [
            ("test", "4242424242424242"),
            ("test", "4242424242424242"),
            ("test", "4000000000000002"),
            ("cash_on_delivery", None),
        ]
    ):
        async with ctx.db.session() as session:
            made = await make_product(session, f"Backup lamp {number}", prices=("20.00", "35.50"))
            product_id = made.product.id
            token = await make_cart(session, [(made.variants[0], 2), (made.variants[1], 1)])
        upload = {"file": ("photo", pictures[number % len(pictures)], "application/octet-stream")}
        data(await client.post(f"/api/v1/products/{product_id}/images", files=upload, headers=admin), 201)
        body = order_body(shipping_id, payment_method=method)
        order = data(await client.post("/api/v1/orders", json=body, headers={"X-Cart-Token": token}), 201)
        if card is not None:
            placed = GuestOrder(order, {"X-Order-Token": order["access_token"]}, made.pools[0].id)
            payment = await start_payment(client, placed, key=f"backup-pay-{number:06d}")
            assert (await pay_with(client, payment, card)).status_code in (200, 303)
    await ctx.jobs.run_until_idle()  # the card page's outcomes reach the ledger through jobs


async def build_shop(shop: Shop) -> None:
    await upgrade_async(shop.url)
    ctx = build_context(make_settings(shop.url, None, media_dir=str(shop.media)))
    try:
        async with asgi_client(create_app(ctx=ctx)) as client:
            await place_paid_orders(ctx, client)
    finally:
        await ctx.close()


def media_files(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def sqlite_file_missing(url: str) -> bool:
    return url.startswith("sqlite") and not Path(make_url(url).database or "").exists()


def leftovers(folder: Path) -> list[Path]:
    """Unpacked archive members a restore left behind."""
    return list(folder.glob(".emporium-restore-*"))


async def table_names(url: str) -> list[str]:
    """The tables of a database, without creating a SQLite file that is not there."""
    if sqlite_file_missing(url):
        return []
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                query = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            else:
                query = "SELECT name FROM sqlite_master WHERE type = 'table'"
            return sorted((await conn.execute(text(query))).scalars())
    finally:
        await engine.dispose()


async def emporium(args: list[str], shop: Shop, cwd: Path) -> Finished:
    return await run([EMPORIUM, *args], env_of(shop), cwd, limit_seconds=120)


async def counters(url: str) -> list[tuple[Any, ...]]:
    """Where the next numbers come from (order numbers among them): PostgreSQL's sequences, SQLite's
    order number table. A restored shop must not hand out a number twice."""
    if url.startswith("postgresql"):
        query = "SELECT sequencename, last_value FROM pg_sequences ORDER BY sequencename"
    else:
        query = "SELECT * FROM order_number_seq"
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(query))).all()]
    finally:
        await engine.dispose()


def image_keys(rows: list[tuple[Any, ...]]) -> set[str]:
    """Every stored file the image rows name (each row's ``files`` maps a size to a storage key)."""
    column = [c.name for c in ProductImage.__table__.columns].index("files")
    keys: set[str] = set()
    for row in rows:
        files = row[column]
        keys.update((json.loads(files) if isinstance(files, str) else files).values())
    return keys


async def test_a_shop_comes_back_row_for_row_and_byte_for_byte(new_shop: NewShop, tmp_path: Path) -> None:
    source, target = await new_shop("bk_src"), await new_shop("bk_dst")
    await build_shop(source)
    archive = tmp_path / "shop-backup.tar.gz"
    backed_up = await emporium(["backup", str(archive)], source, tmp_path)
    assert backed_up.returncode == 0, backed_up.stdout + backed_up.stderr
    assert archive.stat().st_mode & 0o077 == 0  # it holds password hashes: the owner's only

    restored = await emporium(["restore", str(archive)], target, tmp_path)
    assert restored.returncode == 0, restored.stdout + restored.stderr

    before, after = await snapshot(source.url), await snapshot(target.url)
    for table in PROVED_TABLES:
        assert before[table], f"the shop has no {table}"
        assert after[table] == before[table], table
    assert after == before  # and every other table too
    assert await counters(target.url) == await counters(source.url)
    assert await counters(source.url)
    keys = image_keys(before["product_images"])
    source_files = media_files(source.media)
    assert keys
    assert keys <= set(source_files)
    assert media_files(target.media) == source_files
    assert f"{len(source_files)} media file(s)" in restored.stdout

    # A second restore into the now full database is refused, and changes nothing.
    elsewhere = Shop(target.url, tmp_path / "media-again")
    refused = await emporium(["restore", str(archive)], elsewhere, tmp_path)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "the target database is not empty" in refused.stderr
    assert "Nothing was changed" in refused.stderr
    assert await snapshot(target.url) == before
    assert media_files(elsewhere.media) == {}


def repacked(archive: Path, target: Path, manifest: dict[str, Any], renames: dict[str, str]) -> Path:
    """A copy of ``archive`` with another manifest and some members renamed, their bytes unchanged."""
    with tarfile.open(archive) as tar, tarfile.open(target, "w") as out:
        for member in tar.getmembers():
            content = tar.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                content = json.dumps(manifest).encode()
            member.name = renames.get(member.name, member.name)
            member.size = len(content)
            out.addfile(member, io.BytesIO(content))
    return target


def damaged_copies(archive: Path, folder: Path) -> dict[str, tuple[Path, str]]:
    """Copies of ``archive`` spoilt in different ways, each with what the refusal must say."""
    raw = archive.read_bytes()
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    database = members[manifest["database_file"]]
    image = next(m for name, m in members.items() if name.startswith("media/"))
    flipped_dump, flipped_image = bytearray(raw), bytearray(raw)
    flipped_dump[database.offset_data + database.size // 2] ^= 0xFF
    flipped_image[image.offset_data + image.size // 2] ^= 0x01

    # Archives whose members are intact, with every checksum right, that must be refused all the same: a
    # dump relabelled as the other database kind, and a schema revision this code does not know.
    other = "sqlite" if manifest["database_kind"] == "postgresql" else "postgresql"
    other_file = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}[other]
    checksums = dict(manifest["checksums"])
    checksums[other_file] = checksums.pop(manifest["database_file"])
    relabelled = {**manifest, "database_kind": other, "database_file": other_file, "checksums": checksums}
    renames = {manifest["database_file"]: other_file}
    other_kind = repacked(archive, folder / "other-kind.tar", relabelled, renames)
    newer = repacked(archive, folder / "newer.tar", {**manifest, "migration_heads": ["9999_future"]}, {})

    spoilt = {
        "dump": (bytes(flipped_dump), f"checksum mismatch for {database.name}"),
        "image": (bytes(flipped_image), f"checksum mismatch for {image.name}"),
        "truncated": (raw[: len(raw) // 2], "damaged"),
        "not a tar": (b"not an archive at all\n" * 100, "damaged"),
    }
    copies = {}
    for name, (content, message) in spoilt.items():
        path = folder / f"{name.replace(' ', '-')}.tar"
        path.write_bytes(content)
        copies[name] = (path, message)
    copies["other kind"] = (other_kind, f"the archive holds a {other} database")
    copies["newer schema"] = (newer, "revision 9999_future, which this version of Emporium does not know")
    return copies


async def test_a_damaged_or_foreign_archive_is_refused_before_anything_changes(
    new_shop: NewShop, tmp_path: Path
) -> None:
    source, target = await new_shop("bk_src"), await new_shop("bk_empty")
    await build_shop(source)
    archive = tmp_path / "shop-backup.tar"  # uncompressed, so that a flipped byte lands in one member
    backed_up = await emporium(["backup", str(archive)], source, tmp_path)
    assert backed_up.returncode == 0, backed_up.stdout + backed_up.stderr

    for case, (spoilt, message) in damaged_copies(archive, tmp_path).items():
        refused = await emporium(["restore", str(spoilt)], target, tmp_path)
        assert refused.returncode == 1, (case, refused.stdout, refused.stderr)
        assert message in refused.stderr, (case, refused.stderr)
        assert "Nothing was changed" in refused.stderr, (case, refused.stderr)
        assert await table_names(target.url) == [], case
        assert media_files(target.media) == {}, case
        assert leftovers(target.media.parent) == [], case

    # The sound archive still restores into that same database.
    restored = await emporium(["restore", str(archive)], target, tmp_path)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert await snapshot(target.url) == await snapshot(source.url)
