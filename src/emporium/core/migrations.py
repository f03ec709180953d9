"""Running Alembic from code: the CLI, the setup command and the tests build databases the same way."""

from __future__ import annotations

import asyncio
import warnings
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from emporium.core.db import create_engine

# Tables that exist only in the migrations: the search index (FTS5 virtual tables and their shadow tables on
# SQLite, a tsvector table on PostgreSQL), kept current by triggers. Autogenerate must not compare them.
UNMODELLED_TABLE_PREFIX = "product_search"
# SQLite's stand-in for the order number sequence (migration 0004).
UNMODELLED_TABLES = frozenset({"order_number_seq"})


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic ``include_name`` hook: leave the unmodelled search index out of the comparison."""
    if type_ != "table" or name is None:
        return True
    return not (name.startswith(UNMODELLED_TABLE_PREFIX) or name in UNMODELLED_TABLES)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("emporium").joinpath("migrations")))
    config.set_main_option("sqlalchemy.url", url)
    return config


@cache
def code_heads() -> tuple[str, ...]:
    """The revisions the code's migrations end at (one, unless branches await a merge); read once."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return tuple(sorted(script.get_heads()))


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite") and ":memory:" not in url:
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database to ``revision``. Call from synchronous code (env.py runs its own loop)."""
    _ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, url, revision)


def _diff(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "render_as_batch": connection.dialect.name == "sqlite",
            "include_name": include_name,
        },
    )
    with warnings.catch_warnings():
        # SQLite cannot reflect expression indexes (two of the product list's sorts), so they are left out
        # of its comparison; PostgreSQL's compares them.
        for skipped in (
            "Skipped unsupported reflection of expression-based index",
            "autogenerate skipping metadata-specified expression-based index",
        ):
            warnings.filterwarnings("ignore", message=skipped)
        return list(compare_metadata(context, metadata))


async def differences(url: str, metadata: MetaData) -> list[Any]:
    """What autogenerate would write now: empty when the models (``metadata``, every table of every domain:
    ``emporium.models.metadata``) and the migrations agree. Core cannot gather the domains' tables itself:
    it stands below them."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff, metadata)
    finally:
        await engine.dispose()
