"""Rate limits and lockouts, counted where every process of the shop sees them.

Stores: Redis when ``EMPORIUM_REDIS_URL`` is set; otherwise a SQLite file that every web process on the
host opens (``EMPORIUM_RATE_LIMIT_FILE``), or, with ``EMPORIUM_RATE_LIMIT_STORAGE=memory``, the
process's own memory (one process only: ``emporium serve`` refuses more workers with it).

Counting: a sliding window counter per key. The window's count plus the previous window's, weighted by
how much of it still overlaps the sliding window: one row per key whatever the limit, one statement per
request. A refused request is not counted, so a client that waits gets in again.

When the shared store fails (Redis down, the file locked too long), the limits go on in memory for the
outage: the failure is logged once, ``/health/ready`` says ``degraded``, and the store is tried again
every ``rate_limit_retry_seconds``. Nobody is refused, or answered 500, because the store is down.
"""

from __future__ import annotations

import asyncio
import math
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import structlog
from limits import RateLimitItem, parse
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from emporium.core.errors import RateLimited

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Decision:
    """A hit's outcome: counted or not, and when a refused client may try again."""

    allowed: bool
    retry_after: int


def _weighted(previous: int, current: int, now: float, slot: int, window: int) -> float:
    overlap = 1.0 - (now - slot * window) / window
    return previous * overlap + current


def _retry_after(previous: int, current: int, now: float, slot: int, window: int, amount: int) -> int:
    """Seconds until one more request fits under ``amount``."""
    start = slot * window
    if current + 1 <= amount and previous:
        # Within this window, once the previous window's share has decayed enough.
        fraction = 1.0 - (amount - 1 - current) / previous
        wait = start + fraction * window - now
    else:
        # In the next window this one becomes the previous window and decays the same way.
        fraction = 1.0 - (amount - 1) / current if current else 0.0
        wait = start + window + max(fraction, 0.0) * window - now
    return max(1, math.ceil(wait))


def _roll(stored_slot: int, current: int, previous: int, slot: int) -> tuple[int, int]:
    """The (previous, current) counts of ``slot`` from what was stored for ``stored_slot``."""
    if stored_slot == slot:
        return previous, current
    if stored_slot == slot - 1:
        return current, 0
    return 0, 0


class Counters(Protocol):
    """A store of counters and locks. ``now`` is wall-clock time, the same in every process."""

    async def hit(self, key: str, amount: int, window: int, now: float) -> Decision: ...
    async def peek(self, key: str, amount: int, window: int, now: float) -> Decision: ...
    async def clear(self, key: str) -> None: ...
    async def lock(self, key: str, seconds: int, now: float) -> None: ...
    async def locked_for(self, key: str, now: float) -> int: ...
    async def ping(self) -> None: ...
    async def reset(self) -> None: ...
    async def close(self) -> None: ...


class MemoryCounters:
    """This process's own counters: exact for one process, and the fallback during a store outage."""

    PRUNE_EVERY_SECONDS = 60.0

    def __init__(self) -> None:
        # key -> [slot, current, previous, window]
        self._counts: dict[str, list[int]] = {}
        self._locks: dict[str, float] = {}
        self._next_prune = 0.0

    def _prune(self, now: float) -> None:
        self._next_prune = now + self.PRUNE_EVERY_SECONDS
        stale = [k for k, (slot, _, _, window) in self._counts.items() if (slot + 2) * window <= now]
        for key in stale:
            del self._counts[key]
        for key in [k for k, until in self._locks.items() if until <= now]:
            del self._locks[key]

    async def hit(self, key: str, amount: int, window: int, now: float) -> Decision:
        if now >= self._next_prune:
            self._prune(now)
        slot = int(now // window)
        entry = self._counts.get(key)
        previous, current = _roll(entry[0], entry[1], entry[2], slot) if entry else (0, 0)
        if _weighted(previous, current, now, slot, window) + 1 > amount:
            return Decision(False, _retry_after(previous, current, now, slot, window, amount))
        self._counts[key] = [slot, current + 1, previous, window]
        return Decision(True, 0)

    async def peek(self, key: str, amount: int, window: int, now: float) -> Decision:
        slot = int(now // window)
        entry = self._counts.get(key)
        previous, current = _roll(entry[0], entry[1], entry[2], slot) if entry else (0, 0)
        if _weighted(previous, current, now, slot, window) + 1 > amount:
            return Decision(False, _retry_after(previous, current, now, slot, window, amount))
        return Decision(True, 0)

    async def clear(self, key: str) -> None:
        self._counts.pop(key, None)

    async def lock(self, key: str, seconds: int, now: float) -> None:
        self._locks[key] = now + seconds

    async def locked_for(self, key: str, now: float) -> int:
        until = self._locks.get(key)
        if until is None or until <= now:
            return 0
        return max(1, math.ceil(until - now))

    async def ping(self) -> None:
        return None

    async def reset(self) -> None:
        self._counts.clear()
        self._locks.clear()

    async def close(self) -> None:
        await self.reset()


# One statement per hit. In SQLite's UPDATE every column in SET reads the row as it was, so ``ok`` and
# the counts are all computed from the stored values rolled forward to the current slot.
_HIT = """
INSERT INTO counters (key, slot, current, previous, expires, ok) VALUES (:key, :slot, 1, 0, :expires, 1)
ON CONFLICT (key) DO UPDATE SET
    ok = (
        (CASE WHEN slot = :slot THEN previous WHEN slot = :slot - 1 THEN current ELSE 0 END) * :overlap
        + (CASE WHEN slot = :slot THEN current ELSE 0 END) + 1 <= :amount
    ),
    current = (CASE WHEN slot = :slot THEN current ELSE 0 END) + (
        (CASE WHEN slot = :slot THEN previous WHEN slot = :slot - 1 THEN current ELSE 0 END) * :overlap
        + (CASE WHEN slot = :slot THEN current ELSE 0 END) + 1 <= :amount
    ),
    previous = (CASE WHEN slot = :slot THEN previous WHEN slot = :slot - 1 THEN current ELSE 0 END),
    slot = :slot,
    expires = :expires
RETURNING ok, slot, current, previous
"""
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, slot INTEGER NOT NULL, "
    "current INTEGER NOT NULL, previous INTEGER NOT NULL, expires REAL NOT NULL, ok INTEGER NOT NULL) "
    "WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS locks (key TEXT PRIMARY KEY, until REAL NOT NULL) WITHOUT ROWID",
)


class StoreBusy(Exception):
    """The shared file stayed locked by another process for longer than a request may wait."""


class FileCounters:
    """Counters in a SQLite file that every process of the shop on this host opens.

    A hit is one short write transaction (about 15 µs). The file is scratch state: WAL without fsync, since
    losing the last counts to a power cut is harmless. A busy file is waited for by yielding to the event
    loop, never by SQLite's sleeping busy handler, which would stop every request of the process.
    """

    BUSY_WAIT_SECONDS = 0.0005
    BUSY_GIVE_UP_SECONDS = 1.0
    PRUNE_EVERY_SECONDS = 60.0

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._next_prune = 0.0

    def _connection(self) -> sqlite3.Connection:
        # Opened in the process that uses it: a connection must not cross a fork.
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Setting up may wait for another process doing the same at start-up.
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute("PRAGMA busy_timeout=0")
        self._conn, self._pid = conn, os.getpid()
        return conn

    async def _run(self, sql: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> list[Any]:
        deadline = time.monotonic() + self.BUSY_GIVE_UP_SECONDS
        while True:
            try:
                return self._connection().execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise StoreBusy(str(exc)) from exc
                await asyncio.sleep(self.BUSY_WAIT_SECONDS)

    async def _maybe_prune(self, now: float) -> None:
        if now < self._next_prune:
            return
        self._next_prune = now + self.PRUNE_EVERY_SECONDS
        await self._run("DELETE FROM counters WHERE expires <= ?", (now,))
        await self._run("DELETE FROM locks WHERE until <= ?", (now,))

    async def hit(self, key: str, amount: int, window: int, now: float) -> Decision:
        await self._maybe_prune(now)
        slot = int(now // window)
        params = {
            "key": key,
            "slot": slot,
            "overlap": 1.0 - (now - slot * window) / window,
            "amount": amount,
            "expires": (slot + 2) * window,
        }
        ((ok, _, current, previous),) = await self._run(_HIT, params)
        if ok:
            return Decision(True, 0)
        return Decision(False, _retry_after(int(previous), int(current), now, slot, window, amount))

    async def peek(self, key: str, amount: int, window: int, now: float) -> Decision:
        slot = int(now // window)
        rows = await self._run("SELECT slot, current, previous FROM counters WHERE key = ?", (key,))
        previous, current = (0, 0)
        if rows:
            stored_slot, stored_current, stored_previous = (int(v) for v in rows[0])
            previous, current = _roll(stored_slot, stored_current, stored_previous, slot)
        if _weighted(previous, current, now, slot, window) + 1 > amount:
            return Decision(False, _retry_after(previous, current, now, slot, window, amount))
        return Decision(True, 0)

    async def clear(self, key: str) -> None:
        await self._run("DELETE FROM counters WHERE key = ?", (key,))

    async def lock(self, key: str, seconds: int, now: float) -> None:
        await self._run("INSERT OR REPLACE INTO locks (key, until) VALUES (?, ?)", (key, now + seconds))

    async def locked_for(self, key: str, now: float) -> int:
        rows = await self._run("SELECT until FROM locks WHERE key = ?", (key,))
        until = float(rows[0][0]) if rows else 0.0
        return max(1, math.ceil(until - now)) if until > now else 0

    async def ping(self) -> None:
        await self._run("SELECT 1")

    async def reset(self) -> None:
        await self._run("DELETE FROM counters")
        await self._run("DELETE FROM locks")

    async def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None


# The same sliding window counter in Redis: a hash per key, one round trip per hit.
_REDIS_HIT = """
local slot = tonumber(ARGV[1])
local overlap = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local stored = redis.call('HMGET', KEYS[1], 's', 'c', 'p')
local s, c, p = tonumber(stored[1]), tonumber(stored[2]) or 0, tonumber(stored[3]) or 0
local previous, current = 0, 0
if s == slot then previous, current = p, c elseif s == slot - 1 then previous, current = c, 0 end
if previous * overlap + current + 1 > amount then return {0, current, previous} end
redis.call('HSET', KEYS[1], 's', slot, 'c', current + 1, 'p', previous)
redis.call('EXPIRE', KEYS[1], ttl)
return {1, current + 1, previous}
"""


class RedisCounters:
    """Counters in Redis, shared by every process on every host. Calls fail fast when Redis is down."""

    def __init__(self, url: str, prefix: str = "emporium:limits:") -> None:
        self._redis: Redis = Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=1.0,
            socket_timeout=1.0,
            retry=Retry(NoBackoff(), 0),
        )
        self._prefix = prefix
        self._hit = self._redis.register_script(_REDIS_HIT)

    async def hit(self, key: str, amount: int, window: int, now: float) -> Decision:
        slot = int(now // window)
        overlap = 1.0 - (now - slot * window) / window
        ok, current, previous = await self._hit(
            keys=[self._prefix + key], args=[slot, repr(overlap), amount, 2 * window]
        )
        if int(ok):
            return Decision(True, 0)
        return Decision(False, _retry_after(int(previous), int(current), now, slot, window, amount))

    async def peek(self, key: str, amount: int, window: int, now: float) -> Decision:
        slot = int(now // window)
        stored: list[Any] = await self._redis.hmget(self._prefix + key, ["s", "c", "p"])
        previous, current = (0, 0)
        if stored[0] is not None:
            previous, current = _roll(int(stored[0]), int(stored[1] or 0), int(stored[2] or 0), slot)
        if _weighted(previous, current, now, slot, window) + 1 > amount:
            return Decision(False, _retry_after(previous, current, now, slot, window, amount))
        return Decision(True, 0)

    async def clear(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def lock(self, key: str, seconds: int, now: float) -> None:
        await self._redis.set(self._prefix + "lock:" + key, "1", ex=seconds)

    async def locked_for(self, key: str, now: float) -> int:
        remaining = int(await self._redis.pttl(self._prefix + "lock:" + key))
        return max(1, math.ceil(remaining / 1000)) if remaining > 0 else 0

    async def ping(self) -> None:
        await self._redis.ping()

    async def reset(self) -> None:
        keys = [key async for key in self._redis.scan_iter(match=self._prefix + "*", count=500)]
        if keys:
            await self._redis.delete(*keys)

    async def close(self) -> None:
        await self._redis.aclose()


# What a failing store raises: Redis errors, a broken or busy file, a socket that timed out.
STORE_ERRORS = (RedisError, sqlite3.Error, StoreBusy, OSError, TimeoutError)


class RateLimiter:
    """Limits (``limits``' notation: ``"30/minute"``, ``"5 per 900 seconds"``) counted per key in the
    shared store, with this process's memory standing in while the store is unreachable."""

    def __init__(self, store: Counters | None = None, *, retry_seconds: float = 5.0) -> None:
        self._store: Counters = store or MemoryCounters()
        # A store handed in is shared by other processes, and may fail; this process's memory cannot.
        self._shared = store is not None
        self._local = MemoryCounters()
        self._retry_seconds = retry_seconds
        self._down_until = 0.0
        self.degraded = False

    @property
    def store_name(self) -> str:
        return {"RedisCounters": "redis", "FileCounters": "file"}.get(type(self._store).__name__, "memory")

    async def _call(self, op: Callable[[Counters], Awaitable[T]]) -> T:
        if not self._shared:
            return await op(self._store)
        if self.degraded and time.monotonic() < self._down_until:
            return await op(self._local)
        try:
            result = await op(self._store)
        except STORE_ERRORS as exc:
            if not self.degraded:
                log.error("rate_limit_store_unreachable", store=self.store_name, error=repr(exc))
            self.degraded = True
            self._down_until = time.monotonic() + self._retry_seconds
            return await op(self._local)
        if self.degraded:
            self.degraded = False
            log.warning("rate_limit_store_recovered", store=self.store_name)
        return result

    @staticmethod
    def parse(limit: str) -> RateLimitItem:
        return parse(limit)

    @staticmethod
    def _key(limit: RateLimitItem, key: tuple[str, ...]) -> str:
        return f"{limit.get_expiry()}/" + "/".join(key)

    async def check(self, limit: RateLimitItem, *key: str) -> Decision:
        """Count one request unless the limit is reached; the decision says when to come back."""
        name, amount, window = self._key(limit, key), limit.amount, limit.get_expiry()
        return await self._call(lambda store: store.hit(name, amount, window, time.time()))

    async def hit(self, limit: RateLimitItem, *key: str) -> bool:
        """Count one event; False when the limit was already reached (the event is not counted)."""
        return (await self.check(limit, *key)).allowed

    async def allows(self, limit: RateLimitItem, *key: str) -> bool:
        """Whether one more event would be counted (counts nothing)."""
        name, amount, window = self._key(limit, key), limit.amount, limit.get_expiry()
        return (await self._call(lambda store: store.peek(name, amount, window, time.time()))).allowed

    async def retry_after(self, limit: RateLimitItem, *key: str) -> int:
        name, amount, window = self._key(limit, key), limit.amount, limit.get_expiry()
        decision = await self._call(lambda store: store.peek(name, amount, window, time.time()))
        return max(1, decision.retry_after)

    async def clear(self, limit: RateLimitItem, *key: str) -> None:
        name = self._key(limit, key)
        await self._call(lambda store: store.clear(name))

    async def enforce(self, limit: RateLimitItem, *key: str) -> None:
        """Count one request, or refuse it with 429 and ``Retry-After``."""
        decision = await self.check(limit, *key)
        if not decision.allowed:
            raise RateLimited(decision.retry_after)

    async def lock(self, key: str, seconds: int) -> None:
        """Hold ``key`` locked for ``seconds`` (a sign-in lockout), in every process."""
        await self._call(lambda store: store.lock(key, seconds, time.time()))

    async def locked_for(self, key: str) -> int:
        """Seconds ``key`` stays locked; 0 when it is not."""
        return await self._call(lambda store: store.locked_for(key, time.time()))

    async def ping(self) -> None:
        """Try the shared store now (readiness): a failure turns on the fallback; never raises."""
        await self._call(lambda store: store.ping())

    async def reset(self) -> None:
        await self._call(lambda store: store.reset())
        await self._local.reset()

    async def close(self) -> None:
        await self._store.close()
        await self._local.close()


def create_limiter(
    redis_url: str | None, storage: str, file: str | Path, retry_seconds: float = 5.0
) -> RateLimiter:
    """Redis when configured; else the shared file, or this process's memory when asked for."""
    if redis_url:
        return RateLimiter(RedisCounters(redis_url), retry_seconds=retry_seconds)
    if storage == "memory":
        return RateLimiter()
    return RateLimiter(FileCounters(file), retry_seconds=retry_seconds)
