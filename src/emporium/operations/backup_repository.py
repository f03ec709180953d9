"""The SQL of backups: what a database holds before one is taken or restored, and SQLite's own copy.

PostgreSQL's copy is made by its own tools (pg_dump, pg_restore; see ``operations/backup.py``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


class BackupRepository:
    """PostgreSQL's side; SQLite files are read with the functions below, which never create one."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user_tables(self, limit: int = 5) -> list[str]:
        """Up to ``limit`` tables that are not the server's own: an empty list means an empty database."""
        statement = text(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_schema NOT LIKE 'pg_toast%' ORDER BY 1 LIMIT :limit"
        )
        rows = await self.session.execute(statement, {"limit": limit})
        return [str(name) for name in rows.scalars()]

    async def has_migrations_table(self) -> bool:
        statement = text("SELECT to_regclass('alembic_version') IS NOT NULL")
        return bool((await self.session.execute(statement)).scalar_one())

    async def server_version_num(self) -> int:
        """PostgreSQL's version as one number (150020 for 15.20)."""
        return int((await self.session.execute(text("SHOW server_version_num"))).scalar_one())


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy one SQLite database into another with SQLite's online backup API: the copy is one consistent
    state of the source, even while the shop writes to it."""
    # mode=ro: a missing source is an error, never a new empty file.
    origin = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        destination = sqlite3.connect(target)
        try:
            origin.backup(destination)
        finally:
            destination.close()
    finally:
        origin.close()


def sqlite_user_tables(path: Path, limit: int = 5) -> list[str]:
    """The tables of a SQLite file (an error if it is not one), read without creating it."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name LIMIT ?",
            (limit,),
        ).fetchall()
        return [str(row[0]) for row in rows]
    finally:
        connection.close()


def sqlite_revisions(path: Path) -> list[str]:
    """The migration revisions recorded in a SQLite file; none when it has no migrations table."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
            return []
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        return sorted(str(row[0]) for row in rows)
    finally:
        connection.close()
