"""The migrations build exactly the tables the models describe, and they run both ways."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.core.db import Base, create_engine
from emporium.core.migrations import differences, downgrade, upgrade
from emporium.models import metadata
from emporium.settings import AppSettings


async def test_models_and_migrations_agree(engine: AsyncEngine, settings: AppSettings) -> None:
    assert await differences(settings.database_url, metadata) == []


async def _table_names(url: str) -> set[str]:
    probe = create_engine(url)
    try:
        async with probe.connect() as conn:
            names: list[str] = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            return set(names)
    finally:
        await probe.dispose()


async def test_differences_notices_drift(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'drift.db'}"
    await asyncio.to_thread(upgrade, url)
    drift = create_engine(url)
    try:
        async with drift.begin() as conn:
            await conn.execute(text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
            await conn.execute(text("ALTER TABLE jobs ADD COLUMN priority INTEGER"))
    finally:
        await drift.dispose()
    found = repr(await differences(url, metadata))
    assert "stray" in found
    assert "priority" in found


async def test_fresh_database_upgrades_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'fresh.db'}"
    model_tables = set(Base.metadata.tables)

    await asyncio.to_thread(upgrade, url)
    assert model_tables <= await _table_names(url)
    assert await differences(url, metadata) == []

    await asyncio.to_thread(downgrade, url, "base")
    assert await _table_names(url) <= {"alembic_version"}

    await asyncio.to_thread(upgrade, url)
    assert model_tables <= await _table_names(url)
    assert await differences(url, metadata) == []


async def test_upgrading_twice_changes_nothing(engine: AsyncEngine, settings: AppSettings) -> None:
    await asyncio.to_thread(upgrade, settings.database_url)
    assert await differences(settings.database_url, metadata) == []
