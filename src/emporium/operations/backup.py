"""Backups and restores: the database and the local media files in one archive (``backup_archive.py``).

The database's copy is one consistent state: pg_dump reads one snapshot, SQLite's online backup API copies
one committed state. The media files are copied after the dump. Their names carry their content hash and a
stored file never changes, so every image the dump names is in the archive unless it was deleted in the
seconds between the two. Media in an S3 bucket are not copied: the bucket's own versioning keeps them.

A restore checks the whole archive (manifest, checksums, database kind, migration revision) and the
target (an empty database, an empty media folder) before it changes anything. PostgreSQL restores in one
transaction, so a failure leaves the database empty as it was.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from emporium.core.db import Database
from emporium.core.migrations import alembic_config, code_heads
from emporium.operations import backup_tools as tools
from emporium.operations.backup_archive import (  # BackupError: the error of this module too
    DATABASE_FILES,
    FORMAT,
    MEDIA_PREFIX,
    BackupError,
    DatabaseKind,
    Manifest,
    local_media,
    opened_archive,
    write_archive,
)
from emporium.operations.backup_repository import (
    BackupRepository,
    sqlite_copy,
    sqlite_revisions,
    sqlite_user_tables,
)
from emporium.operations.repository import OperationsRepository

__all__ = ["BackupError", "MediaPlace", "Outcome", "create_backup", "restore_backup"]

S3_NOTE = (
    "Media are stored in S3: the archive holds no media files. Keep the bucket's versioning on; it is the "
    "media's backup."
)


@dataclass(frozen=True)
class MediaPlace:
    """Where the shop keeps its media: ``EMPORIUM_MEDIA_STORAGE`` and ``EMPORIUM_MEDIA_DIR``."""

    storage: str
    root: Path


@dataclass(frozen=True)
class Outcome:
    manifest: Manifest
    archive: Path
    size: int = 0
    notes: tuple[str, ...] = ()


def _emporium_version() -> str:
    try:
        return version("emporium")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def database_kind(database_url: str) -> DatabaseKind:
    backend = make_url(database_url).get_backend_name()
    if backend in ("postgresql", "sqlite"):
        return backend  # type: ignore[return-value]
    raise BackupError(f"backups support PostgreSQL and SQLite, not {backend}")


def _sqlite_path(database_url: str) -> Path:
    name = make_url(database_url).database
    if not name or name == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(name)


@dataclass(frozen=True)
class _State:
    tables: list[str]
    revisions: list[str]
    server_major: int | None


def _sqlite_state(path: Path) -> _State:
    """Read without opening the file for writing: a missing file is an empty database, and stays missing."""
    if not path.exists():
        return _State([], [], None)
    try:
        return _State(sqlite_user_tables(path), sqlite_revisions(path), None)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database ({exc})") from exc


async def _database_state(database_url: str, kind: DatabaseKind) -> _State:
    """What the database holds now: its tables, its migration revisions and (PostgreSQL) its version."""
    if kind == "sqlite":
        return await asyncio.to_thread(_sqlite_state, _sqlite_path(database_url))
    database = Database(database_url)
    try:
        async with database.session(read_only=True) as session:
            probe = BackupRepository(session)
            tables = await probe.user_tables()
            has_schema = await probe.has_migrations_table()
            revisions = await OperationsRepository(session).migration_revisions() if has_schema else []
            major = (await probe.server_version_num()) // 10000
        return _State(tables, revisions, major)
    except (DBAPIError, OSError) as exc:
        raise BackupError(f"cannot reach the database: {type(exc).__name__}: {exc}") from exc
    finally:
        await database.dispose()


def _dump(
    database_url: str, kind: DatabaseKind, state: _State, out: Path, bin_dir: Path | None
) -> str | None:
    """Write the database's copy to ``out``; the pg_dump used, on PostgreSQL."""
    if kind == "sqlite":
        sqlite_copy(_sqlite_path(database_url), out)
        return None
    assert state.server_major is not None
    tool = tools.find_tool("pg_dump", state.server_major, bin_dir)
    name, env = tools.libpq_environment(database_url)
    tools.run_tool(tool, ["--format=custom", "--no-password", f"--file={out}", f"--dbname={name}"], env)
    return tool.version


async def create_backup(
    database_url: str, media: MediaPlace, archive: Path, *, pg_bin_dir: Path | None = None
) -> Outcome:
    """Write one archive with the database and the local media files."""
    kind = database_kind(database_url)
    if kind == "sqlite" and not _sqlite_path(database_url).exists():
        raise BackupError(f"no SQLite database at {_sqlite_path(database_url)}")
    state = await _database_state(database_url, kind)
    if not state.revisions:
        raise BackupError("the database has no Emporium schema (run `emporium migrate` first)")
    await asyncio.to_thread(archive.parent.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".emporium-backup-", dir=archive.parent) as work:
        dump = Path(work) / DATABASE_FILES[kind]
        dump_tool = await asyncio.to_thread(_dump, database_url, kind, state, dump, pg_bin_dir)
        files = list(local_media(media.root)) if media.storage == "local" else []
        manifest = Manifest(
            format=FORMAT,
            emporium_version=_emporium_version(),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            database_kind=kind,
            database_file=DATABASE_FILES[kind],
            migration_heads=state.revisions,
            media_storage=media.storage,
            media_files=len(files),
            server_major=state.server_major,
            dump_tool=dump_tool,
        )
        size = await asyncio.to_thread(write_archive, archive, manifest, dump, files)
    return Outcome(manifest, archive, size, (S3_NOTE,) if media.storage == "s3" else ())


def _check_revisions(manifest: Manifest) -> tuple[str, ...]:
    """Refuse a dump of a schema this code does not know; a note when it is older than the code's."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    for revision in manifest.migration_heads:
        try:
            known = script.get_revision(revision)
        except CommandError:
            known = None
        if known is None:
            raise BackupError(
                f"the archive's schema is at revision {revision}, which this version of Emporium does not "
                f"know: restore it with Emporium {manifest.emporium_version} or newer"
            )
    if sorted(manifest.migration_heads) != sorted(code_heads()):
        return ("The restored schema is older than this version's: run `emporium migrate` next.",)
    return ()


async def _check_target(
    database_url: str, kind: DatabaseKind, manifest: Manifest, media: MediaPlace
) -> _State:
    if manifest.database_kind != kind:
        raise BackupError(
            f"the archive holds a {manifest.database_kind} database and the configured database is {kind}"
        )
    state = await _database_state(database_url, kind)
    if state.tables:
        raise BackupError(
            f"the target database is not empty (it has tables: {', '.join(state.tables)}); a restore goes "
            "into an empty database only: create a new one, or drop this one's tables first"
        )
    if kind == "postgresql" and manifest.server_major and (state.server_major or 0) < manifest.server_major:
        raise BackupError(
            f"the dump comes from PostgreSQL {manifest.server_major} and the target server is "
            f"PostgreSQL {state.server_major}: restore into version {manifest.server_major} or newer"
        )
    if manifest.media_files and media.storage != "local":
        raise BackupError(
            "the archive holds local media files and the shop is configured for S3: restore with "
            "EMPORIUM_MEDIA_STORAGE=local, then copy the media folder into the bucket"
        )
    if media.storage == "local" and any(True for _ in local_media(media.root)):
        raise BackupError(f"the media folder {media.root} already holds files: restore into an empty one")
    return state


def _load(database_url: str, kind: DatabaseKind, state: _State, dump: Path, bin_dir: Path | None) -> None:
    """Load the dump; on failure the database is as empty as before: pg_restore runs in one transaction,
    and SQLite's backup API writes its destination in one transaction too (and knows its WAL file)."""
    if kind == "sqlite":
        target = _sqlite_path(database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        sqlite_copy(dump, target)
        return
    assert state.server_major is not None
    tool = tools.find_tool("pg_restore", state.server_major, bin_dir)
    name, env = tools.libpq_environment(database_url)
    args = ["--no-password", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    tools.run_tool(tool, [*args, f"--dbname={name}", str(dump)], env)


def _put_media(staging: Path, root: Path) -> int:
    source = staging / MEDIA_PREFIX.rstrip("/")
    count = 0
    for key, path in local_media(source):
        target = root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        count += 1
    return count


async def restore_backup(
    database_url: str, media: MediaPlace, archive: Path, *, pg_bin_dir: Path | None = None
) -> Outcome:
    """Restore an archive into an empty database and an empty media folder, after checking both."""
    kind = database_kind(database_url)
    # Unpacked beside the media folder, so the files are moved into place rather than copied.
    near = media.root.parent if media.storage == "local" else None
    if near is not None:
        near.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".emporium-restore-", dir=near) as work:
        staging = Path(work)
        try:
            with opened_archive(archive, staging) as manifest:
                notes = _check_revisions(manifest)
                state = await _check_target(database_url, kind, manifest, media)
                dump = staging / manifest.database_file
                await asyncio.to_thread(_load, database_url, kind, state, dump, pg_bin_dir)
        except BackupError as exc:
            raise BackupError(f"{exc}. Nothing was changed.") from exc
        if media.storage == "local":
            try:
                await asyncio.to_thread(_put_media, staging, media.root)
            except OSError as exc:
                raise BackupError(
                    f"the database was restored, but the media files could not be put back in {media.root} "
                    f"({exc}); free the folder and run the restore again into a new empty database"
                ) from exc
    if media.storage == "s3":
        notes = (*notes, S3_NOTE)
    return Outcome(manifest, archive, notes=notes)
