"""Pooled PostgreSQL connections are pinged before use only after sitting idle (core/db.py): a connection
the server ended while it sat in the pool is replaced, and one just returned is used without a ping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.core.db import create_engine
from tests.conftest import AppSettings


async def _engine(settings: AppSettings, ping_after_idle: float) -> AsyncIterator[AsyncEngine]:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server to lose a connection to")
    engine = create_engine(settings.database_url, ping_after_idle=ping_after_idle)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def always_pinged(settings: AppSettings) -> AsyncIterator[AsyncEngine]:
    async for engine in _engine(settings, 0):
        yield engine


@pytest.fixture
async def rarely_pinged(settings: AppSettings) -> AsyncIterator[AsyncEngine]:
    async for engine in _engine(settings, 3600):
        yield engine


def _count_pings(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.pg_backend_pid()))).scalar_one())


async def test_a_connection_the_server_ended_while_idle_is_replaced(
    always_pinged: AsyncEngine, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _count_pings(always_pinged, monkeypatch)
    first = await _backend_pid(always_pinged)
    async with engine.connect() as admin:
        assert (await admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})) is True
    second = await _backend_pid(always_pinged)
    assert second != first
    assert len(pings) >= 2  # both checkouts were pinged; the second ping failed and the pool reconnected


async def test_a_connection_just_returned_is_used_without_a_ping(
    rarely_pinged: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _count_pings(rarely_pinged, monkeypatch)
    pids = {await _backend_pid(rarely_pinged) for _ in range(5)}
    assert len(pids) == 1  # the same pooled connection every time
    assert pings == []
