"""The rate limit stores: the sliding window counter, counts shared through the file, the fallback to memory
while the shared store fails, and the way back to it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from emporium.core.ratelimit import (
    Counters,
    Decision,
    FileCounters,
    MemoryCounters,
    RateLimiter,
    create_limiter,
)

WINDOW = 60
T0 = 1_800_000_000.0  # the start of a window (a multiple of 60)


@pytest.fixture(params=["memory", "file"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> Counters:
    if request.param == "memory":
        return MemoryCounters()
    return FileCounters(tmp_path / "limits.db")


async def test_a_window_allows_its_amount_then_refuses_without_counting(store: Counters) -> None:
    for second in range(3):
        assert (await store.hit("k", 3, WINDOW, T0 + second)).allowed
    refused = await store.hit("k", 3, WINDOW, T0 + 10)
    assert not refused.allowed
    # The three hits of this window weigh fully until it ends, then decay through the next one: one more
    # fits once a third of the next window has passed (3 * (1 - 1/3) + 1 <= 3).
    assert refused.retry_after == 50 + 20
    assert not (await store.peek("k", 3, WINDOW, T0 + 59)).allowed
    assert not (await store.hit("k", 3, WINDOW, T0 + WINDOW + 19)).allowed
    # Refused hits were not counted: the client that waited gets in.
    assert (await store.hit("k", 3, WINDOW, T0 + WINDOW + 21)).allowed
    assert not (await store.hit("k", 3, WINDOW, T0 + WINDOW + 22)).allowed


async def test_the_previous_window_weighs_by_its_overlap(store: Counters) -> None:
    for _ in range(10):
        assert (await store.hit("k", 10, WINDOW, T0 + 30)).allowed
    # Half-way through the next window the ten weigh five: five more fit, not six.
    now = T0 + WINDOW + 30
    for _ in range(5):
        assert (await store.hit("k", 10, WINDOW, now)).allowed
    assert not (await store.hit("k", 10, WINDOW, now)).allowed
    # Two windows later everything is forgotten.
    for _ in range(10):
        assert (await store.hit("k", 10, WINDOW, T0 + 3 * WINDOW)).allowed


async def test_keys_are_apart_and_clear_forgets_one(store: Counters) -> None:
    assert (await store.hit("a", 1, WINDOW, T0)).allowed
    assert not (await store.hit("a", 1, WINDOW, T0)).allowed
    assert (await store.hit("b", 1, WINDOW, T0)).allowed
    await store.clear("a")
    assert (await store.hit("a", 1, WINDOW, T0)).allowed
    assert not (await store.peek("b", 1, WINDOW, T0)).allowed


async def test_locks_expire(store: Counters) -> None:
    assert await store.locked_for("lock", T0) == 0
    await store.lock("lock", 900, T0)
    assert await store.locked_for("lock", T0 + 0.5) == 900
    assert await store.locked_for("lock", T0 + 899.5) == 1
    assert await store.locked_for("lock", T0 + 900) == 0


async def test_the_file_is_one_count_for_every_process_that_opens_it(tmp_path: Path) -> None:
    # Two stores on one file are what two worker processes hold: each has its own connection.
    first, second = FileCounters(tmp_path / "limits.db"), FileCounters(tmp_path / "limits.db")
    try:
        for store in (first, second, first, second, first):
            assert (await store.hit("login", 5, WINDOW, T0)).allowed
        assert not (await second.hit("login", 5, WINDOW, T0)).allowed
        assert not (await first.hit("login", 5, WINDOW, T0)).allowed
        await first.lock("locked", 60, T0)
        assert await second.locked_for("locked", T0) == 60
    finally:
        await first.close()
        await second.close()


async def test_stale_rows_are_pruned_from_the_file(tmp_path: Path) -> None:
    store = FileCounters(tmp_path / "limits.db")
    try:
        await store.hit("old", 5, WINDOW, T0)
        await store.lock("old-lock", 10, T0)
        store._next_prune = 0.0
        await store.hit("new", 5, WINDOW, T0 + 3 * WINDOW)
        rows = sqlite3.connect(tmp_path / "limits.db").execute("SELECT key FROM counters").fetchall()
        locks = sqlite3.connect(tmp_path / "limits.db").execute("SELECT key FROM locks").fetchall()
        assert rows == [("new",)]
        assert locks == []
    finally:
        await store.close()


class FlakyStore(MemoryCounters):
    """A store that fails while ``down`` is set, like Redis stopped or a file locked for too long."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls = 0

    async def hit(self, key: str, amount: int, window: int, now: float) -> Decision:
        self.calls += 1
        if self.down:
            raise ConnectionError("store is down")
        return await super().hit(key, amount, window, now)

    async def ping(self) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("store is down")


async def test_while_the_store_fails_limits_are_counted_in_memory_then_the_store_again() -> None:
    store = FlakyStore()
    limiter = RateLimiter(store, retry_seconds=0.05)
    limit = limiter.parse("2/minute")
    assert await limiter.hit(limit, "k")
    assert not limiter.degraded

    store.down = True
    with capture_logs() as logs:
        assert await limiter.hit(limit, "k")  # answered from memory, where "k" is new
        assert await limiter.hit(limit, "k")
        assert not await limiter.hit(limit, "k")  # and still limited there
    assert limiter.degraded
    assert [entry["event"] for entry in logs] == ["rate_limit_store_unreachable"]
    calls = store.calls
    await limiter.hit(limit, "other")
    assert store.calls == calls  # not asked again before the retry time

    store.down = False
    await asyncio.sleep(0.06)
    with capture_logs() as logs:
        await limiter.ping()
    assert not limiter.degraded
    assert [entry["event"] for entry in logs] == ["rate_limit_store_recovered"]
    # The store's own count is back in charge: it saw one hit of "k" before the outage.
    assert await limiter.hit(limit, "k")
    assert not await limiter.hit(limit, "k")


async def test_a_file_locked_too_long_falls_back_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "limits.db"
    store = FileCounters(path)
    store.BUSY_GIVE_UP_SECONDS = 0.05
    limiter = RateLimiter(store, retry_seconds=60)
    limit = limiter.parse("5/minute")
    assert await limiter.hit(limit, "k")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write, for too long
    try:
        assert await limiter.hit(limit, "k")
        assert limiter.degraded
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await limiter.close()


def test_the_store_follows_the_settings(tmp_path: Path) -> None:
    assert create_limiter(None, "file", tmp_path / "l.db").store_name == "file"
    assert create_limiter(None, "memory", tmp_path / "l.db").store_name == "memory"
    assert create_limiter("redis://127.0.0.1:1/0", "memory", tmp_path / "l.db").store_name == "redis"
