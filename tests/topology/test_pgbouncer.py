"""The shop through PgBouncer in transaction mode (PgBouncer 1.18: no ``max_prepared_statements``), with
fewer server connections than the app's pools hold, so consecutive transactions and reads of one client
connection land on different server connections: SQLAlchemy's statements, the direct asyncpg reads and
the bulk COPY of the demo loader all work with ``database_pooler="pgbouncer"``; without it the server
settings the app sends at connect are refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from emporium.app import create_app
from emporium.cli import app as cli
from emporium.core.context import AppContext, build_context
from emporium.core.db import Database
from emporium.core.migrations import upgrade_async
from emporium.demo.service import top_up_products
from emporium.operations.pgcluster import PgTopology, start_topology
from tests.conftest import make_settings
from tests.inventory.factory import make_product
from tests.support import asgi_client, data
from tests.topology.conftest import DATABASE

pytestmark = pytest.mark.topology

# Server connections PgBouncer may open: fewer than the app's concurrent transactions and reads.
SERVER_CONNECTIONS = 2
CLIENTS = 24


@pytest.fixture
async def bounced(topology_root: Path) -> AsyncIterator[PgTopology]:
    started = start_topology(topology_root, [DATABASE], replica=False, bouncer_pool_size=SERVER_CONNECTIONS)
    try:
        await upgrade_async(started.primary.url(DATABASE))
        yield started
    finally:
        started.stop()


def _context(topology: PgTopology, pooler: str = "pgbouncer") -> AppContext:
    assert topology.bouncer is not None
    settings = make_settings(
        topology.bouncer.url(DATABASE), None, database_pooler=pooler, catalog_cache_ttl_seconds=0
    )
    return build_context(settings)


async def _server_connections(topology: PgTopology) -> int:
    return int(
        topology.primary.sql(
            "SELECT count(*) FROM pg_stat_activity "
            f"WHERE datname = '{DATABASE}' AND backend_type = 'client backend'"
        )
    )


async def test_statements_reads_and_writes_through_transaction_pooling(bounced: PgTopology) -> None:
    ctx = _context(bounced)
    try:
        async with asyncio.timeout(120), asgi_client(create_app(ctx=ctx)) as client:
            async with ctx.db.session() as session:
                made = [
                    await make_product(session, f"Pooled lamp {n}", prices=("9.50",), on_hand=500)
                    for n in range(3)
                ]

            async def shopper(n: int) -> None:
                variant = made[n % 3].variants[0].id
                added = await client.post("/api/v1/cart/items", json={"variant_id": variant, "quantity": 1})
                token = added.headers["X-Cart-Token"]
                data(added, 201)
                for _ in range(3):
                    listed = data(await client.get("/api/v1/products?limit=5"))  # direct asyncpg reads
                    assert len(listed) == 3
                    found = data(await client.get("/api/v1/products/search?q=pooled"))
                    assert found
                    page = await client.get(f"/p/{made[n % 3].product.slug}")
                    assert page.status_code == 200
                    assert "Pooled lamp" in page.text
                cart = data(await client.get("/api/v1/cart", headers={"X-Cart-Token": token}))
                assert cart["item_count"] == 1

            await asyncio.gather(*(shopper(n) for n in range(CLIENTS)))
            assert await _server_connections(bounced) <= SERVER_CONNECTIONS
            async with ctx.db.session() as session:
                carts = (await session.execute(text("SELECT count(*) FROM cart_items"))).scalar_one()
            assert carts == CLIENTS
    finally:
        await ctx.close()


async def test_the_bulk_copy_of_the_demo_loader_goes_through(bounced: PgTopology) -> None:
    ctx = _context(bounced)
    try:
        async with asyncio.timeout(120):
            assert await top_up_products(ctx, 300) == 300
            async with ctx.db.session() as session:
                count = (await session.execute(text("SELECT count(*) FROM products"))).scalar_one()
                indexed = (await session.execute(text("SELECT count(*) FROM product_search"))).scalar_one()
            assert count == indexed == 300
            async with asgi_client(create_app(ctx=ctx)) as client:
                assert len(data(await client.get("/api/v1/products?limit=50"))) == 50
    finally:
        await ctx.close()


async def test_without_the_pooler_setting_pgbouncer_refuses_the_connection(bounced: PgTopology) -> None:
    assert bounced.bouncer is not None
    # The settings the app sends at connect (jit, plan_cache_mode) are unknown startup parameters to
    # PgBouncer: "pgbouncer" is what makes the app leave them out.
    database = Database(bounced.bouncer.url(DATABASE))
    try:
        async with asyncio.timeout(60):
            with pytest.raises(DBAPIError, match="unsupported startup parameter"):
                async with database.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
    finally:
        await database.dispose()


def test_migrations_run_on_the_direct_url(bounced: PgTopology) -> None:
    assert bounced.bouncer is not None
    env = {
        # PgBouncer serves no database of this name: a migration sent there would fail.
        "EMPORIUM_DATABASE_URL": bounced.bouncer.url("not_served"),
        "EMPORIUM_DATABASE_POOLER": "pgbouncer",
        "EMPORIUM_DATABASE_MIGRATION_URL": bounced.primary.url(DATABASE),
    }
    result = CliRunner().invoke(cli, ["migrate"], env=env)
    assert result.exit_code == 0, result.output
    assert bounced.primary.sql("SELECT count(*) FROM alembic_version", DATABASE) == "1"
