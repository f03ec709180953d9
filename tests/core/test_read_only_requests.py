"""Safe requests run read-only transactions: on SQLite they never queue behind a writer."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from emporium.app import create_app
from emporium.catalog.models import Product, ProductStatus
from emporium.core.db import Database
from tests.conftest import MakeContext, sign_up
from tests.support import asgi_client, count_statements, data, warm_up


async def test_a_read_answers_while_another_connection_holds_the_write_lock(
    make_committed_context: MakeContext, committed_db: Database
) -> None:
    ctx = make_committed_context()
    async with asgi_client(create_app(ctx=ctx)) as client:
        shopper = await sign_up(client, "reader@example.com")
        async with committed_db.engine.connect() as writer:
            await writer.begin()  # BEGIN IMMEDIATE on SQLite: the write lock, held until rollback
            await writer.execute(
                text("UPDATE users SET first_name = 'Held' WHERE email = 'reader@example.com'")
            )
            profile = await asyncio.wait_for(client.get("/api/v1/users/profile", headers=shopper.headers), 5)
            prefs = await asyncio.wait_for(
                client.get("/api/v1/users/preferences/notifications", headers=shopper.headers), 5
            )
            await writer.rollback()
    assert data(profile)["email"] == "reader@example.com"
    assert "email" in data(prefs)["channels"]


async def test_a_product_list_is_one_select_outside_any_transaction_on_postgresql(
    make_committed_context: MakeContext, committed_db: Database
) -> None:
    """The list reads everything in one SELECT. On PostgreSQL asyncpg sends it alone, outside any
    transaction (``DirectReads``): SQLAlchemy's connections then send nothing at all, not even BEGIN."""
    async with committed_db.session() as session:
        session.add_all(
            [
                Product(
                    name=f"Lamp {n}", slug=f"lamp-{n}", status=ProductStatus.ACTIVE, price_min_minor=100 * n
                )
                for n in (1, 2, 3)
            ]
        )
    ctx = make_committed_context(catalog_cache_ttl_seconds=0)
    async with asgi_client(create_app(ctx=ctx)) as client:
        await warm_up(client)
        with (
            count_statements(ctx.db.engine) as through_sqlalchemy,
            count_statements(ctx.db.engine, ctx.db.direct_reads) as statements,
        ):
            body = data(await client.get("/api/v1/products?sort=price_desc&limit=2"))
    assert [item["slug"] for item in body] == ["lamp-3", "lamp-2"]
    assert len([s for s in statements if not s.lstrip().upper().startswith("BEGIN")]) == 1
    if ctx.db.engine.dialect.name == "postgresql":
        assert through_sqlalchemy == []
