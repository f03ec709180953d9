"""Engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import uuid4

import structlog
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Select, TextClause, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from emporium.core import changes
from emporium.core.direct_reads import DirectReads
from emporium.core.replicas import PRIMARY_BIND, REPLICA_BIND, ReplicaMonitor, RoutedSession

# What stands between the app and PostgreSQL (setting ``database_pooler``).
Pooler = Literal["none", "pgbouncer"]

log = structlog.get_logger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Execution option marking a transaction that will only read (SQLite then begins it DEFERRED).
READ_ONLY_OPTION = "emporium_read_only"
DIRECT_READS = "emporium_direct_reads"

# BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Give SQLite real transactions: foreign keys on, WAL, and BEGIN IMMEDIATE.

    pysqlite's own transaction handling breaks SAVEPOINT; we take it over. BEGIN IMMEDIATE makes
    concurrent writers queue on the busy timeout instead of failing half-way with SQLITE_BUSY.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Read-only requests ask for a deferred BEGIN: readers then never queue behind writers (WAL).
        deferred = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")


# JIT compilation pays off for long analytical queries, not for a shop's short ones: it added ~90 ms to a
# search over 100k products whose execution took less (see BENCHMARKS.md).
POSTGRES_SERVER_SETTINGS = {"jit": "off"}
# The direct reads' statements are written for a generic plan (their filters and sorts are in the text,
# only values are parameters): planned once per connection, not re-planned on every execution because a
# parameter's value makes the estimate look cheaper (re-planning search's statement cost 0.7 ms a time).
DIRECT_READ_SERVER_SETTINGS = POSTGRES_SERVER_SETTINGS | {"plan_cache_mode": "force_generic_plan"}


def _unique_statement_name() -> str:
    return f"__emporium_{uuid4().hex}__"


def pooled_connect_args() -> dict[str, Any]:
    """asyncpg through PgBouncer in transaction mode: each transaction may get another server connection,
    so nothing is kept prepared on one (asyncpg's statement cache off, SQLAlchemy's too, and the statements
    SQLAlchemy prepares named uniquely so two never collide on a server connection), and no setting is
    sent at connect (PgBouncer refuses unknown startup parameters; set them on the database instead)."""
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unique_statement_name,
    }


def create_engine(url: str, *, echo: bool = False, pooler: Pooler = "none") -> AsyncEngine:
    # Bound values stay out of error messages and logs: they hold password hashes and e-mail addresses.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        if pooler == "pgbouncer":
            kwargs["connect_args"] = pooled_connect_args()
        else:
            kwargs["connect_args"] = {"server_settings": dict(POSTGRES_SERVER_SETTINGS)}
        kwargs["pool_pre_ping"] = True
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 20
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        _configure_sqlite(engine)
    return engine


class Database:
    """One engine and its session factory; the app, the CLI and the job runner each hold one."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        session_info: dict[str, Any] | None = None,
        replica: ReplicaOptions | None = None,
        pooler: Pooler = "none",
    ) -> None:
        self.url = url
        self.pooler: Pooler = pooler
        self.engine = create_engine(url, echo=echo, pooler=pooler)
        self.session_info = dict(session_info or {})
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, autoflush=False, info=self.session_info
        )
        # The same pool, marked read-only: SQLite then begins its transactions DEFERRED.
        self.read_only_engine: AsyncEngine | None = self.engine.execution_options(**{READ_ONLY_OPTION: True})
        # PostgreSQL: reads that need no transaction run on asyncpg directly (see ``read_alone``).
        # SQLite gains nothing: its transactions cost no round trip and its driver no network.
        self.direct_reads: DirectReads | None = None
        if not url.startswith("sqlite"):
            self.direct_reads = _direct_reads(self.engine, pooler)
            self.session_info[DIRECT_READS] = self.direct_reads
        # Told which change stamps (core/changes.py) a session's commits touched, after the commit.
        self.announcer: changes.Announcer | None = None
        # The streaming replica some requests read from (core/read_routing.py); None: every read is here.
        self.replica: Replica | None = None
        if replica is not None and not url.startswith("sqlite"):
            self.replica = Replica(self, replica, echo=echo)

    @classmethod
    def bound_to(
        cls, connection: AsyncConnection, engine: AsyncEngine, session_info: dict[str, Any] | None = None
    ) -> Database:
        """Sessions that join ``connection``'s open transaction through savepoints.

        Tests use it to roll every test back; a commit inside only releases a savepoint.
        """
        db = cls.__new__(cls)
        db.url = str(engine.url)
        db.engine = engine
        db.session_info = dict(session_info or {})
        db.sessionmaker = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
            info=db.session_info,
        )
        db.read_only_engine = None
        db.direct_reads = None
        db.announcer = None
        db.replica = None
        db.pooler = "none"
        return db

    @asynccontextmanager
    async def session(
        self,
        *,
        read_only: bool = False,
        announcer: changes.Announcer | None = None,
        from_replica: bool = False,
    ) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends, rolls back when it raises.

        Nothing is sent until the session is first used. ``read_only`` marks a transaction that should
        not write (SQLite begins it DEFERRED). ``from_replica``: its reads go to the replica until it
        writes (the caller checked the replica is fresh; ignored without one). After the commit, the
        change stamps the session touched go to ``announcer`` (default: this database's), also when a
        later part of the block failed.
        """
        if from_replica and self.replica is not None:
            session = self.replica.sessionmaker()
        else:
            bind = self.read_only_engine if read_only else None
            session = self.sessionmaker(**({"bind": bind} if bind is not None else {}))
        try:
            try:
                yield session
                # A request answered from the cache, or by one direct read, never began a transaction:
                # committing would still build and end an empty one.
                if session.in_transaction() or session.new or session.dirty or session.deleted:
                    await session.commit()
            except BaseException:
                await session.rollback()
                await self._announce(session, announcer)
                raise
            await self._announce(session, announcer)
        finally:
            await _close_if_used(session)

    async def _announce(self, session: AsyncSession, announcer: changes.Announcer | None) -> None:
        stamps = changes.take_committed(session.sync_session)
        target = announcer or self.announcer
        if not stamps or target is None:
            return
        try:
            await target(stamps)
        except Exception as exc:
            log.warning("changes_not_announced", stamps=sorted(stamps), error=repr(exc))

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that only reads: never commits, and on SQLite never takes the write lock."""
        async with self.sessionmaker() as session:
            try:
                await session.connection(execution_options={READ_ONLY_OPTION: True})
                yield session
            finally:
                await session.rollback()

    async def dispose(self) -> None:
        if self.replica is not None:
            await self.replica.close()
        if self.direct_reads is not None:
            await self.direct_reads.close()
        await self.engine.dispose()


def _direct_reads(engine: AsyncEngine, pooler: Pooler) -> DirectReads:
    if pooler == "pgbouncer":
        # Unnamed statements, parsed again with each execution: PgBouncer may hand each read another
        # server connection. No startup settings either (see ``pooled_connect_args``).
        return DirectReads(engine.url, engine.dialect, {}, statement_cache_size=0)
    return DirectReads(engine.url, engine.dialect, DIRECT_READ_SERVER_SETTINGS)


@dataclass(frozen=True)
class ReplicaOptions:
    """Where the replica is and how far behind it may be (settings ``database_replica_url``,
    ``replica_max_lag_seconds``); ``observe`` is told every lag measured (None: unreachable)."""

    url: str
    max_lag_seconds: float
    observe: Callable[[float | None], None] | None = None


class Replica:
    """The replica's engine, direct reads and lag monitor, and sessions routed between it and the primary
    (``RoutedSession``: reads here until the session writes)."""

    def __init__(self, primary: Database, options: ReplicaOptions, *, echo: bool = False) -> None:
        self.engine = create_engine(options.url, echo=echo, pooler=primary.pooler)
        self.direct_reads = _direct_reads(self.engine, primary.pooler)
        info = {
            **primary.session_info,
            DIRECT_READS: self.direct_reads,
            PRIMARY_BIND: primary.engine.sync_engine,
            REPLICA_BIND: self.engine.sync_engine,
        }
        # Bound to the primary for the code that asks ``session.bind`` which database it is on; the
        # statements themselves go where ``RoutedSession.get_bind`` sends them.
        self.sessionmaker = async_sessionmaker(
            primary.engine,
            expire_on_commit=False,
            autoflush=False,
            info=info,
            sync_session_class=RoutedSession,
        )
        self.monitor = ReplicaMonitor(
            self.direct_reads.connect_kwargs,
            (primary.direct_reads or _direct_reads(primary.engine, primary.pooler)).connect_kwargs,
            options.max_lag_seconds,
            options.observe,
        )

    async def fresh(self) -> bool:
        """Whether reads may go to the replica now (measured at most once a second)."""
        return await self.monitor.fresh()

    async def close(self) -> None:
        await self.monitor.close()
        await self.direct_reads.close()
        await self.engine.dispose()


async def _close_if_used(session: AsyncSession) -> None:
    """Close ``session`` unless it never began a transaction and holds no object: closing one that did
    nothing changes nothing, yet its greenlet switch took a product list 3 % of its worker time."""
    if session.in_transaction() or session.identity_map or session.new or session.deleted:
        await session.close()


async def read_alone(
    session: AsyncSession,
    statement: Select[*tuple[Any, ...]] | TextClause,
    values: Mapping[str, Any] | None = None,
) -> Sequence[Mapping[Any, Any]]:
    """The rows of a SELECT that writes nothing and needs no transaction around it, by column name.

    On PostgreSQL, when the session has not begun a transaction, asyncpg runs it alone on a connection
    of its own (``DirectReads``): no BEGIN, no COMMIT, no ping, no SQLAlchemy execution context. It sees
    the snapshot of its own statement, as it would in the session (under READ COMMITTED each statement
    takes its own), so a request may make several such reads. Its columns must need no SQLAlchemy
    result processing (see direct_reads.py). Otherwise, and in tests that run inside one rolled-back
    transaction, it runs in the session."""
    direct: DirectReads | None = session.info.get(DIRECT_READS)
    if direct is None or session.in_transaction():
        return (await session.execute(statement, values)).mappings().all()
    return await direct.fetch(statement, values)


# session.info key: the transaction in which custom plans were asked for.
_CUSTOM_PLANS = "emporium_custom_plans"


async def plan_for_each_value(session: AsyncSession) -> None:
    """Have PostgreSQL plan the transaction's next statements for their own values, never once for any.

    A contains-match (``lower(name) LIKE '%...%'``) costs a trigram index lookup for a rare text and is
    cheapest read in sort order for a common one; no single plan suits both. After five executions of a
    prepared statement PostgreSQL may keep one generic plan for every value, and did: once a few long pages
    of a common name had run on a connection, a rare name scanned all 100,000 orders there (83 ms instead
    of 0.1). Asked once per transaction (``SET LOCAL`` ends with it); nothing on SQLite, which has no
    plan cache of this kind.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_CUSTOM_PLANS) is transaction:
        return
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    session.info[_CUSTOM_PLANS] = session.get_transaction()
