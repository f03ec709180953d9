"""SELECTs run on asyncpg itself, for the requests a single statement answers (see ``db.read_alone``).

A product list is one statement that takes PostgreSQL under a millisecond. Around it, SQLAlchemy's pool
check-out with its pre-ping (BEGIN, a ping, ROLLBACK: three round trips), its execution context and its
result rows cost the worker more than the statement did. Here a statement is compiled once by SQLAlchemy
and then sent by asyncpg on a connection of its own small pool, with no transaction around it (autocommit;
one statement sees one snapshot either way) and nothing sent on check-out or check-in.

What it gives up: rows are asyncpg's records (read by column name), decoded by asyncpg (JSON included),
so SQLAlchemy's result processing does not run. Use it for statements whose columns need none; tests
compare the rows of both paths for the statements that use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

# Connections per worker process: a read takes about a millisecond, so a few serve many requests.
POOL_SIZE = 10
# Statements compiled for PostgreSQL, by statement object (callers keep their statements, see the
# catalog repository, so a few hundred at most).
COMPILED_KEPT = 512
# Rendered SQL texts, by statement and the values written into the text (a LIMIT, the length of a list).
SHAPES_KEPT = 2048
_EXPANDED_NAME = re.compile(r"(.+)_([0-9]+)")
_UNSEEN = object()

# Raised when a pooled connection was already dead (the server restarted, or an administrator ended
# the backend) or died while the statement ran: a read sent again on a new connection is safe. A
# backend ended mid-read can also leave asyncpg's protocol in a state it reports as an internal error.
_LOST_CONNECTION = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.PostgresConnectionError,
    asyncpg.InternalClientError,
    ConnectionError,
)


async def _use_json(connection: asyncpg.Connection) -> None:
    # SQLAlchemy's asyncpg dialect decodes JSON the same way; asyncpg alone would hand back strings.
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, schema="pg_catalog", encoder=json.dumps, decoder=json.loads, format="text"
        )


async def _keep_session_state(connection: asyncpg.Connection) -> None:
    """Check-in without asyncpg's reset query (a round trip per read): the reads here set nothing.

    asyncpg still rolls back a transaction left open before calling this."""


@dataclass(frozen=True)
class _Source:
    """Where one positional argument comes from: the value of ``key`` (``default`` when the caller gave
    none), or item ``index`` of that value when it is an expanded list."""

    key: str
    default: Any
    index: int | None
    processor: Callable[[Any], Any] | None

    def value(self, values: Mapping[str, Any]) -> Any:
        """The bound value, before its type's processor."""
        value = values.get(self.key, self.default)
        return value if self.index is None else value[self.index]


@dataclass(frozen=True)
class _Shape:
    """A compiled statement rendered for one set of text-shaping values: its SQL and arguments' sources."""

    sql: str
    sources: tuple[_Source, ...]

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for source in self.sources:
            value = source.value(values)
            arguments.append(source.processor(value) if source.processor and value is not None else value)
        return arguments


def _shape_key(compiled: SQLCompiler, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What changes the SQL text of ``compiled``: the values written into it and the lengths of the
    lists it expands. None when a value cannot be a key (it is then rendered afresh)."""
    key: list[Any] = []
    for bind in compiled.binds.values():
        if bind.literal_execute:
            key.append(values.get(bind.key, bind.value))
        elif bind.expanding:
            value = values.get(bind.key, bind.value)
            key.append(None if value is None else len(value))
    shape_key = tuple(key)
    try:
        hash(shape_key)
    except TypeError:
        return None
    return shape_key


def _shape(compiled: SQLCompiler, values: Mapping[str, Any]) -> _Shape | None:
    """The SQL SQLAlchemy renders for ``values``, and where each argument comes from; None when an
    argument cannot be traced back to one value (it is then rendered afresh every time)."""
    state = compiled.construct_expanded_state(values)
    sources: list[_Source] = []
    for name in state.positiontup or ():
        bind = compiled.binds.get(name)
        index: int | None = None
        if bind is None or bind.expanding:
            match = _EXPANDED_NAME.fullmatch(name)
            bind = compiled.binds.get(match.group(1)) if match else None
            if match is None or bind is None or not bind.expanding:
                return None
            index = int(match.group(2)) - 1
        if bind.callable is not None:
            return None
        sources.append(_Source(bind.key, bind.value, index, state.processors.get(name)))
    shape = _Shape(state.statement, tuple(sources))
    # Each argument must be the value SQLAlchemy bound (a list of tuples expands otherwise).
    expected = [state.parameters[name] for name in state.positiontup or ()]
    traced = [source.value(values) for source in sources]
    return shape if traced == expected else None


class DirectReads:
    """A pool of plain asyncpg connections and the statements compiled for them, for one process."""

    def __init__(
        self,
        url: URL,
        dialect: Dialect,
        server_settings: Mapping[str, str],
        *,
        statement_cache_size: int | None = None,
    ) -> None:
        _, connect_kwargs = dialect.create_connect_args(url)
        self._connect_kwargs: dict[str, Any] = {**connect_kwargs}
        if server_settings:
            self._connect_kwargs["server_settings"] = dict(server_settings)
        if statement_cache_size is not None:
            # 0 behind PgBouncer in transaction mode: asyncpg then sends each statement unnamed, parsed
            # again in the same message as its execution, so it never depends on a server connection.
            self._connect_kwargs["statement_cache_size"] = statement_cache_size
        self._dialect = dialect
        self._compiled = functools.lru_cache(maxsize=COMPILED_KEPT)(self._compile)
        # SQLAlchemy's rendering of an expanded statement took more of a worker's time than asyncpg's
        # sending of it; None remembers a statement whose arguments cannot be traced (rendered each time).
        self._shapes: dict[tuple[SQLCompiler, tuple[Any, ...]], _Shape | None] = {}
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        # Told the SQL of every statement before it is sent: SQLAlchemy's events never see these, and
        # the tests that count statements per request must.
        self.observers: list[Callable[[str], None]] = []

    async def fetch(
        self, statement: ClauseElement, values: Mapping[str, Any] | None = None
    ) -> list[Mapping[str, Any]]:
        query, arguments = self._render(statement, values or {})
        for observe in self.observers:
            observe(query)
        pool = self._pool or await self._open()
        try:
            return await self._fetch(pool, query, arguments)
        except _LOST_CONNECTION:
            return await self._fetch(pool, query, arguments)

    @property
    def connect_kwargs(self) -> dict[str, Any]:
        """What ``asyncpg.connect`` takes to reach this database as these reads do."""
        return dict(self._connect_kwargs)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @staticmethod
    async def _fetch(pool: asyncpg.Pool, query: str, arguments: Sequence[Any]) -> list[Mapping[str, Any]]:
        async with pool.acquire() as connection:
            try:
                rows: list[Mapping[str, Any]] = await connection.fetch(query, *arguments)
            except _LOST_CONNECTION:
                # Never handed out again: the pool opens a new connection in its place. A connection
                # already lost may have been handed back to the pool by asyncpg itself.
                with contextlib.suppress(asyncpg.InterfaceError):
                    connection.terminate()
                raise
            return rows

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    min_size=1,
                    max_size=POOL_SIZE,
                    init=_use_json,
                    reset=_keep_session_state,
                    **self._connect_kwargs,
                )
            return self._pool

    def _compile(self, statement: ClauseElement) -> SQLCompiler:
        compiled = statement.compile(dialect=self._dialect)
        assert isinstance(compiled, SQLCompiler)
        return compiled

    def _render(self, statement: ClauseElement, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and positional arguments of ``statement`` with ``values``: expanding lists and
        literal LIMITs written in, bound values through their types' processors."""
        compiled = self._compiled(statement)
        key = _shape_key(compiled, values)
        shape = None
        if key is not None:
            shape = self._shapes.get((compiled, key), _UNSEEN)
            if shape is _UNSEEN:
                shape = _shape(compiled, values)
                if len(self._shapes) >= SHAPES_KEPT:  # the oldest goes first
                    del self._shapes[next(iter(self._shapes))]
                self._shapes[(compiled, key)] = shape
        if isinstance(shape, _Shape):
            return shape.sql, shape.arguments(values)
        state = compiled.construct_expanded_state(values)
        processors = state.processors
        arguments = []
        for name in state.positiontup or ():
            value = state.parameters[name]
            processor = processors.get(name)
            arguments.append(processor(value) if processor is not None and value is not None else value)
        return state.statement, arguments
