"""Migration 0013 (option values in the search index) runs both ways on both databases: up, the index holds
the values of active variants; down, the triggers, functions and index entries are exactly those of 0012;
up again, exactly those of the first upgrade. PostgreSQL runs in a cluster of the test's own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import ProductVariant
from emporium.core.db import create_engine
from emporium.core.migrations import downgrade, upgrade
from tests.core.own_postgres import own_postgres
from tests.inventory.factory import make_product

_PG_STATE = {
    "definitions": (
        "SELECT p.proname || ': ' || pg_get_functiondef(p.oid) FROM pg_proc p "
        "WHERE p.proname LIKE 'product_search%' ORDER BY 1"
    ),
    "triggers": (
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgname LIKE 'product_search%' ORDER BY 1"
    ),
    "index": (
        "SELECT product_id || ' ' || document::text || ' | ' || words FROM product_search ORDER BY product_id"
    ),
    "dictionary": "SELECT word FROM product_search_words ORDER BY word",
}
_SQLITE_STATE = {
    "triggers": "SELECT name || ': ' || sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
    "index": (
        "SELECT rowid || ' ' || name || ' | ' || tags || ' | ' || brand || ' | ' || category "
        "FROM product_search_fts ORDER BY rowid"
    ),
    "dictionary": "SELECT rowid || ' ' || words FROM product_search_trigram ORDER BY rowid",
}


async def _state(url: str) -> dict[str, list[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            queries = _PG_STATE if conn.dialect.name == "postgresql" else _SQLITE_STATE
            return {name: list((await conn.execute(text(sql))).scalars()) for name, sql in queries.items()}
    finally:
        await engine.dispose()


async def _hoodie(url: str) -> None:
    """A hoodie in navy (active) and in red (switched off), and a lamp without options."""
    engine = create_engine(url)
    try:
        async with AsyncSession(engine) as session, session.begin():
            made = await make_product(session, "Zip Hoodie", tags=["fleece"], prices=("30.00", "30.00"))
            await make_product(session, "Desk Lamp")
            for variant, options, active in zip(
                made.variants,
                ({"colour": "Navy", "size": "M"}, {"colour": "Red", "size": "L"}),
                (True, False),
                strict=True,
            ):
                variant.options = options
                variant.is_active = active
        async with AsyncSession(engine) as session:
            assert len((await session.execute(select(ProductVariant))).all()) == 3
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'search.db'}"
        return
    with own_postgres() as cluster:
        cluster.create_database("emporium_search_migration_test")
        yield cluster.url("emporium_search_migration_test")


def _words(state: dict[str, Any]) -> str:
    return " ".join(state["index"] + state["dictionary"]).lower()


async def test_option_values_migrate_up_down_and_up_again(database_url: str) -> None:
    # The products are written by today's models, then the schema is taken back to before option values
    # were searchable: the data stays, the search index forgets the options.
    await asyncio.to_thread(upgrade, database_url)
    await _hoodie(database_url)
    await asyncio.to_thread(downgrade, database_url, "0012")
    before = await _state(database_url)
    assert "navy" not in _words(before)

    await asyncio.to_thread(upgrade, database_url)
    after = await _state(database_url)
    assert "navy" in _words(after)
    assert "red" not in _words(after)  # a switched-off variant says nothing
    assert after["triggers"] != before["triggers"]

    await asyncio.to_thread(downgrade, database_url, "0012")
    assert await _state(database_url) == before

    await asyncio.to_thread(upgrade, database_url)
    assert await _state(database_url) == after
