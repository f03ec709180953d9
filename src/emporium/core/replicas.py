"""The streaming replica: whether it may answer reads now, and sessions that read from it.

A replica is fresh enough when it is at most ``max_lag`` seconds behind the primary. Measured on the
replica, once a second per process at most (``MEASURE_EVERY_SECONDS``):

- it has replayed everything it received and is streaming: no lag, however old its last replayed
  transaction is (an idle primary sends nothing to replay, so the age of that transaction says nothing);
- it received more than it replayed (replay paused or slow): the lag is the age of the last replayed
  transaction, ``now() - pg_last_xact_replay_timestamp()``, the usual and pessimistic measure;
- it is not streaming (its primary is gone, or the link between them): asked of the primary, if it is
  ahead, the same age; if it cannot be reached, the replica is all there is and browsing carries on from
  it (writes fail on their own, as outages: core/outage.py).

An unreachable replica is not fresh: reads then go to the primary. Only sessions a request opened for
reads the replica may serve use it (core/read_routing.py); jobs, the CLI and every write use the primary.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from sqlalchemy import Select, TextClause
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = structlog.get_logger(__name__)

MEASURE_EVERY_SECONDS = 1.0
# A replica (or primary) that takes longer than this to answer the measure counts as unreachable.
MEASURE_TIMEOUT_SECONDS = 1.0

# session.info keys of a routed session: the two engines, and whether the session has gone to the primary.
PRIMARY_BIND = "emporium_primary_bind"
REPLICA_BIND = "emporium_replica_bind"
ON_PRIMARY = "emporium_on_primary"

_MEASURE = """
SELECT pg_is_in_recovery() AS standby,
       coalesce(pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn(), false) AS behind,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_age,
       pg_last_wal_replay_lsn()::text AS replayed,
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') AS streaming
"""
_PRIMARY_AHEAD = "SELECT pg_current_wal_lsn() > $1::pg_lsn"
# Statements a replica can run: plain reads and the transaction-local planner settings (db.py).
_READ_PREFIXES = ("SELECT", "WITH", "SET LOCAL")


@dataclass(frozen=True)
class ReplicaReading:
    """What the replica said about itself (``replayed``: the last WAL position it applied)."""

    standby: bool
    behind: bool
    replay_age: float | None
    replayed: str | None
    streaming: bool


def lag_seconds(reading: ReplicaReading, primary_ahead: bool | None) -> float:
    """How far behind the replica is, by the rules in the module docstring. ``primary_ahead``: whether the
    primary has written past ``reading.replayed`` (None: the primary was not asked, or is unreachable)."""
    if not reading.standby:
        return 0.0  # promoted: it is a primary now
    age = math.inf if reading.replay_age is None else max(reading.replay_age, 0.0)
    if reading.behind:
        return age
    if reading.streaming or not primary_ahead:
        return 0.0
    return age


class ReplicaMonitor:
    """The replica's lag, measured at most once per ``MEASURE_EVERY_SECONDS`` and shared by every request
    of the process; a request never waits for a measure another one is taking."""

    def __init__(
        self,
        replica: dict[str, Any],
        primary: dict[str, Any],
        max_lag: float,
        observe: Callable[[float | None], None] | None = None,
    ) -> None:
        self._replica_kwargs = replica
        self._primary_kwargs = primary
        self.max_lag = max_lag
        self.observe = observe
        self.lag: float | None = None  # None: unreachable (or not measured yet)
        self._measured_at = -math.inf
        self._measuring: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None

    async def fresh(self) -> bool:
        """Whether reads may go to the replica now."""
        if time.monotonic() - self._measured_at >= MEASURE_EVERY_SECONDS:
            if self._measuring is None or self._measuring.done():
                self._measuring = asyncio.create_task(self._measure())
            if self.lag is None and self._measured_at == -math.inf:
                # The process's first request waits for the first measure instead of guessing.
                await asyncio.shield(self._measuring)
        return self.lag is not None and self.lag <= self.max_lag

    async def close(self) -> None:
        if self._measuring is not None and not self._measuring.done():
            self._measuring.cancel()
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.terminate()

    async def _measure(self) -> None:
        try:
            self.lag = await asyncio.wait_for(self._lag(), timeout=MEASURE_TIMEOUT_SECONDS * 2)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            if self.lag is not None:
                log.warning("replica_unreachable", error_type=type(exc).__name__)
            self.lag = None
            connection, self._connection = self._connection, None
            if connection is not None:
                connection.terminate()
        finally:
            self._measured_at = time.monotonic()
        if self.observe is not None:
            self.observe(self.lag)

    async def _lag(self) -> float:
        if self._connection is None or self._connection.is_closed():
            self._connection = await asyncpg.connect(**self._replica_kwargs, timeout=MEASURE_TIMEOUT_SECONDS)
        row = await self._connection.fetchrow(_MEASURE, timeout=MEASURE_TIMEOUT_SECONDS)
        assert row is not None
        reading = ReplicaReading(**dict(row))
        ahead = None
        if reading.standby and not reading.behind and not reading.streaming and reading.replayed:
            ahead = await self._primary_ahead(reading.replayed)
        return lag_seconds(reading, ahead)

    async def _primary_ahead(self, replayed: str) -> bool | None:
        try:
            connection = await asyncpg.connect(**self._primary_kwargs, timeout=MEASURE_TIMEOUT_SECONDS)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            return None
        try:
            return bool(await connection.fetchval(_PRIMARY_AHEAD, replayed, timeout=MEASURE_TIMEOUT_SECONDS))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            return None
        finally:
            connection.terminate()


def replica_may_run(clause: Any) -> bool:
    """Whether ``clause`` only reads, so the replica may run it: a SELECT that locks no row, or a text
    statement that reads or sets a transaction-local planner setting."""
    if isinstance(clause, Select):
        return clause._for_update_arg is None
    if isinstance(clause, TextClause):
        return clause.text.lstrip().upper().startswith(_READ_PREFIXES)
    return False


class RoutedSession(Session):
    """A request's session whose reads go to the replica until it writes (or locks, or flushes): from
    then on every statement of the session goes to the primary, so a transaction that wrote reads its
    own writes. Statements that name no clause (``session.get_bind()`` for the dialect) get the current
    side without moving the session."""

    def get_bind(self, mapper: Any = None, *, clause: Any = None, **kw: Any) -> Engine:
        primary: Engine = self.info[PRIMARY_BIND]
        if self.info.get(ON_PRIMARY):
            return primary
        if self._flushing or (clause is not None and not replica_may_run(clause)):
            self.info[ON_PRIMARY] = True
            return primary
        replica: Engine = self.info[REPLICA_BIND]
        return replica
