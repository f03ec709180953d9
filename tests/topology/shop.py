"""The shop on the test's own topology: settings that route through PgBouncer to the primary and the replica,
and what tells which server answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from emporium.core import metrics
from emporium.operations.pgcluster import REPLICA_SUFFIX, PgTopology
from emporium.settings import AppSettings
from tests.conftest import make_settings
from tests.topology.conftest import DATABASE

MAX_LAG_SECONDS = 2.0


def shop_settings(topology: PgTopology, **overrides: object) -> AppSettings:
    """The shop's primary and replica both through PgBouncer (transaction mode); migrations direct."""
    assert topology.bouncer is not None
    values: dict[str, object] = {
        "database_replica_url": topology.bouncer.url(DATABASE + REPLICA_SUFFIX),
        "database_pooler": "pgbouncer",
        "database_migration_url": topology.primary.url(DATABASE),
        "replica_max_lag_seconds": MAX_LAG_SECONDS,
        "read_your_writes_seconds": 5.0,
        # Every read reaches a database: which one answered is what these tests look at.
        "catalog_cache_ttl_seconds": 0,
    }
    values.update(overrides)
    return make_settings(topology.bouncer.url(DATABASE), None, **values)


def read_sessions(server: str) -> float:
    """Requests the replica might have served that read from ``server`` (the app's own counter)."""
    value = metrics.REGISTRY.get_sample_value("emporium_db_read_sessions_total", {"server": server})
    return value or 0.0


def caught_up(topology: PgTopology) -> None:
    """Waits until the replica has applied everything the primary has written so far."""
    assert topology.replica is not None
    topology.replica.wait_until_replayed(topology.primary.sql("SELECT pg_current_wal_lsn()"))


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """Polls ``check`` until it holds; fails after ``within`` seconds saying ``what`` never happened."""
    ends = time.monotonic() + within
    while not await check():
        if time.monotonic() > ends:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.2)
