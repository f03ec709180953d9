"""Indexes on big tables are built concurrently on PostgreSQL and as usual on SQLite."""

from __future__ import annotations

from collections.abc import Callable

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.core.config import Settings
from emporium.core.db import create_engine
from emporium.migrations.ops import create_index_concurrently, drop_index_concurrently


def _in_a_migration(connection: Connection, step: Callable[[], None]) -> None:
    """Run ``step`` as env.py runs a migration: on a connection with no transaction open, inside the migration
    context's transaction, then commit."""
    connection.commit()
    context = MigrationContext.configure(connection)
    with Operations.context(context), context.begin_transaction():
        step()
    connection.commit()


def _index_names(connection: Connection, table: str) -> set[str]:
    return {index["name"] for index in inspect(connection).get_indexes(table) if index["name"]}


async def test_an_index_is_built_and_dropped(engine: AsyncEngine, settings: Settings) -> None:
    # A connection of its own: the concurrent build commits, which a test's rolled-back transaction cannot.
    # On PostgreSQL, CONCURRENTLY inside the migration's transaction would fail ("cannot run inside a
    # transaction block"): that it succeeds proves the build left the transaction.
    own = create_engine(settings.database_url)
    try:
        async with own.connect() as connection:
            await connection.run_sync(
                _in_a_migration,
                lambda: create_index_concurrently(
                    "ix_test_jobs_name_created", "jobs", ["name", "created_at"]
                ),
            )
            assert "ix_test_jobs_name_created" in await connection.run_sync(_index_names, "jobs")
            if connection.dialect.name == "postgresql":
                valid = await connection.scalar(
                    text(
                        "SELECT indisvalid FROM pg_index"
                        " WHERE indexrelid = 'ix_test_jobs_name_created'::regclass"
                    )
                )
                assert valid is True
            await connection.run_sync(
                _in_a_migration, lambda: drop_index_concurrently("ix_test_jobs_name_created", "jobs")
            )
            assert "ix_test_jobs_name_created" not in await connection.run_sync(_index_names, "jobs")
            await connection.commit()
    finally:
        await own.dispose()


async def test_another_index_method_on_postgresql(engine: AsyncEngine, settings: Settings) -> None:
    # A trigram index (GIN) as migration 0018 builds them; SQLite, which has one kind of index, gets its own.
    own = create_engine(settings.database_url)
    try:
        async with own.connect() as connection:
            postgresql = connection.dialect.name == "postgresql"
            column = text("lower(name) gin_trgm_ops") if postgresql else text("lower(name)")
            await connection.run_sync(
                _in_a_migration,
                lambda: create_index_concurrently(
                    "ix_test_jobs_name_trgm", "jobs", [column], postgresql_using="gin"
                ),
            )
            if postgresql:
                definition = await connection.scalar(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_test_jobs_name_trgm'")
                )
                assert "USING gin (lower((name)::text) gin_trgm_ops)" in str(definition)
            else:
                found = await connection.scalar(
                    text("SELECT sql FROM sqlite_master WHERE name = 'ix_test_jobs_name_trgm'")
                )
                assert "lower(name)" in str(found)
            await connection.run_sync(
                _in_a_migration, lambda: drop_index_concurrently("ix_test_jobs_name_trgm", "jobs")
            )
            await connection.commit()
    finally:
        await own.dispose()
