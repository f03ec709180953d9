"""Safe requests run read-only transactions: on SQLite they never queue behind a writer."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from emporium.app import create_app
from emporium.core.db import Database
from tests.conftest import MakeContext, sign_up
from tests.support import asgi_client, data


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
    assert data(prefs)["email"] is True
