"""Test fixtures. Every test runs against a database built by the migrations, inside a transaction that
is rolled back at the end; set EMPORIUM_DATABASE_URL to a PostgreSQL database whose name contains "test"
to run the same tests there (without it they use a temporary SQLite file).

Under pytest-xdist (``make.py test`` runs ``-n auto --dist loadfile``) each worker has a database of its own:
its own SQLite file, or a PostgreSQL database named after the given one with the worker's id appended. A test
file runs whole on one worker, so a file that uses the shared Redis keeps to a Redis database no other file
uses (10 to 15, named in each)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from emporium import install
from emporium.app import create_app
from emporium.core.context import AppContext, build_context
from emporium.core.db import Base, Database, create_engine
from emporium.core.migrations import upgrade_async
from emporium.settings import AppSettings
from tests import route_memo
from tests.support import STRONG_PASSWORD, SmtpServer, bearer, data

install.wire()
route_memo.install()

XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _database_url(tmp_root: Path) -> str:
    url = os.environ.get("EMPORIUM_DATABASE_URL")
    if not url:
        return f"sqlite+aiosqlite:///{tmp_root / 'emporium-test.db'}"
    name = make_url(url).database or ""
    if "test" not in name:
        raise pytest.UsageError("the tests empty the database they get: its name must contain 'test'")
    if XDIST_WORKER:
        return make_url(url).set(database=f"{name}_{XDIST_WORKER}").render_as_string(hide_password=False)
    return url


async def _create_or_drop_worker_database(url: str, *, create: bool) -> None:
    """CREATE (or DROP) this worker's PostgreSQL database, from the server's maintenance database."""
    target = make_url(url)
    server = create_async_engine(
        target.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    try:
        async with server.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote(target.database or "")
            await conn.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            if create:
                await conn.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        await server.dispose()


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory.mktemp("db"))


def make_settings(database_url: str, smtp_port: int | None, **overrides: object) -> AppSettings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": database_url,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "redis_url": None,
        "argon2_memory_cost_kib": 256,
        "argon2_time_cost": 1,
        "argon2_parallelism": 1,
        "auth_rate_limit": "10000/minute",
        # Tests make many requests from one client, each test with a context of its own; the route limits
        # and their shared stores are proved in tests/core/test_route_limits.py and test_ratelimit.py.
        "rate_limit_storage": "memory",
        "rate_limit_reads": "100000/minute",
        "rate_limit_cart": "100000/minute",
        "rate_limit_checkout": "100000/minute",
        "rate_limit_account": "100000/minute",
        "rate_limit_staff": "100000/minute",
        "order_track_order_limit": "100000/minute",
        # Tests place many orders from one client; tests/orders/test_limits.py proves the caps and limits.
        "guest_checkout_rate_limit": "10000/minute",
        "open_orders_per_email": 1000,
        "open_orders_per_phone": 1000,
        "open_orders_per_client_address": 1000,
        "jobs_run_in_process": False,
        # Figures computed on every visit; tests/admin/test_dashboard.py proves the home page's minute.
        "analytics_home_cache_seconds": 0,
        "jobs_backoff_base_seconds": 0,
        "smtp_host": "127.0.0.1" if smtp_port else None,
        "smtp_port": smtp_port or 25,
        "log_level": "WARNING",
        "public_url": "http://shop.test",
    }
    values.update(overrides)
    return AppSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(database_url: str, smtp: SmtpServer) -> AppSettings:
    return make_settings(database_url, smtp.port)


async def _empty_database(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
async def engine(settings: AppSettings) -> AsyncIterator[AsyncEngine]:
    worker_database = XDIST_WORKER is not None and settings.database_url.startswith("postgresql")
    if worker_database:
        await _create_or_drop_worker_database(settings.database_url, create=True)
    engine = create_engine(settings.database_url)
    await _empty_database(engine)
    await upgrade_async(settings.database_url)
    yield engine
    await engine.dispose()
    if worker_database:
        await _create_or_drop_worker_database(settings.database_url, create=False)


@pytest.fixture
async def db(engine: AsyncEngine, settings: AppSettings) -> AsyncIterator[Database]:
    """A database whose every change is rolled back when the test ends."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield Database.bound_to(conn, engine, {"jobs_max_attempts": settings.jobs_max_attempts})
        await outer.rollback()


@pytest.fixture
async def ctx(settings: AppSettings, db: Database, smtp: SmtpServer) -> AsyncIterator[AppContext]:
    smtp.sink.clear()
    context = build_context(settings, db=db)
    yield context
    await context.jobs.stop()
    await context.cache.close()


@pytest.fixture
async def client(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx=ctx)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


MakeContext = Callable[..., AppContext]


@asynccontextmanager
async def _context_factory(
    settings: AppSettings, smtp: SmtpServer, database: Database
) -> AsyncIterator[MakeContext]:
    made: list[AppContext] = []

    def build(*, with_smtp: bool = True, smtp_port: int | None = None, **overrides: object) -> AppContext:
        port = smtp_port or (smtp.port if with_smtp else None)
        context = build_context(make_settings(settings.database_url, port, **overrides), db=database)
        made.append(context)
        return context

    smtp.sink.clear()
    try:
        yield build
    finally:
        for context in made:
            await context.jobs.stop()
            await context.cache.close()


@pytest.fixture
async def make_context(settings: AppSettings, db: Database, smtp: SmtpServer) -> AsyncIterator[MakeContext]:
    """``make_context(with_smtp=False, smtp_port=..., **overrides)``: a context with other settings on
    the test's rolled-back database; its services are closed when the test ends."""
    async with _context_factory(settings, smtp, db) as build:
        yield build


async def clear_all_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            # A row may reference a row of its own table (a category's parent, ON DELETE RESTRICT, which
            # SQLite checks row by row): those links go first.
            for column in table.columns:
                if column.nullable and any(fk.column.table is table for fk in column.foreign_keys):
                    await conn.execute(table.update().values({column.name: None}))
            await conn.execute(table.delete())


@pytest.fixture
async def committed_db(engine: AsyncEngine, settings: AppSettings) -> AsyncIterator[Database]:
    """A database whose commits are real (for tests across processes); emptied afterwards."""
    await clear_all_tables(engine)
    database = Database(settings.database_url, session_info={"jobs_max_attempts": settings.jobs_max_attempts})
    yield database
    await database.dispose()
    await clear_all_tables(engine)


@pytest.fixture
async def make_committed_context(
    settings: AppSettings, committed_db: Database, smtp: SmtpServer
) -> AsyncIterator[MakeContext]:
    """Like ``make_context``, on ``committed_db`` (do not combine with ``db`` or ``ctx``: on SQLite the
    rolled-back database's open transaction holds the write lock)."""
    async with _context_factory(settings, smtp, committed_db) as build:
        yield build


class Shopper:
    """A registered, signed-in customer driving the API."""

    def __init__(
        self, client: httpx.AsyncClient, email: str, password: str, tokens: dict[str, object]
    ) -> None:
        self.client = client
        self.email = email
        self.password = password
        self.tokens = tokens

    @property
    def headers(self) -> dict[str, str]:
        return bearer(str(self.tokens["access_token"]))


async def sign_up(
    client: httpx.AsyncClient, email: str, password: str = STRONG_PASSWORD, **extra: object
) -> Shopper:
    data(
        await client.post("/api/v1/auth/register", json={"email": email, "password": password, **extra}), 201
    )
    tokens = data(await client.post("/api/v1/auth/login", json={"email": email, "password": password}))
    return Shopper(client, email, password, tokens)


@pytest.fixture
async def shopper(client: httpx.AsyncClient) -> Shopper:
    return await sign_up(client, "ada@example.com", first_name="Ada", last_name="Lovelace")
