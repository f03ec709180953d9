"""The backup archive: one tar file holding the database dump, the media files and a manifest.

Layout::

    database.pgdump | database.sqlite3   pg_dump's custom format, or a SQLite file
    media/<key>                          each local media file under its storage key
    manifest.json                        what the archive is, and the SHA-256 of every other member

The manifest is written last, once every checksum is known. Reading checks everything before anything
is used: every member must be a plain file with a safe name, named in the manifest, with its checksum.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from emporium.catalog.media.storage import InvalidKey, check_key

FORMAT = 1
MANIFEST = "manifest.json"
MEDIA_PREFIX = "media/"
DATABASE_FILES = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
DatabaseKind = Literal["postgresql", "sqlite"]
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or a restore refused or failed; the message says why, for the operator."""


@dataclass(frozen=True)
class Manifest:
    format: int
    emporium_version: str
    created_at: str
    database_kind: DatabaseKind
    database_file: str
    migration_heads: list[str]
    media_storage: str
    media_files: int
    # PostgreSQL only: the server's major version and the pg_dump that made the dump.
    server_major: int | None = None
    dump_tool: str | None = None
    checksums: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            values: Any = json.loads(raw)
            if not isinstance(values, dict) or values.get("format") != FORMAT:
                raise BackupError(
                    f"the archive's manifest is of an unknown format (this version reads format {FORMAT})"
                )
            manifest = cls(**values)
        except (ValueError, TypeError) as exc:
            raise BackupError("the archive's manifest is not readable") from exc
        if not isinstance(manifest.checksums, dict) or not isinstance(manifest.migration_heads, list):
            raise BackupError("the archive's manifest is not readable")
        if manifest.database_kind not in DATABASE_FILES:
            raise BackupError(f"the archive holds a database of unknown kind {manifest.database_kind!r}")
        if manifest.database_file != DATABASE_FILES[manifest.database_kind]:
            raise BackupError("the archive's manifest names an unexpected database file")
        return manifest


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def local_media(root: Path) -> Iterator[tuple[str, Path]]:
    """Every stored file under the media folder, as (key, path), in key order. Files whose names are not
    storage keys (the dot-named files of a write in progress) are not media and are left out."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        key = path.relative_to(root).as_posix()
        try:
            yield check_key(key), path
        except InvalidKey:
            continue


def write_archive(target: Path, manifest: Manifest, database: Path, media: list[tuple[str, Path]]) -> int:
    """Write the archive beside ``target`` and rename it into place (a reader never finds half an
    archive); gzip-compressed when the name ends in ".gz". Returns its size in bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(fd)
    checksums: dict[str, str] = {}
    try:
        mode: Literal["w:gz", "w"] = "w:gz" if target.name.endswith(".gz") else "w"
        with tarfile.open(partial, mode) as tar:
            members = [(manifest.database_file, database)] + [(MEDIA_PREFIX + k, p) for k, p in media]
            for name, path in members:
                checksums[name] = sha256_of(path)
                tar.add(path, arcname=name, recursive=False)
            raw = Manifest(**{**asdict(manifest), "checksums": checksums}).to_json()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(raw)
            info.mtime = int(os.path.getmtime(partial))
            tar.addfile(info, io.BytesIO(raw))
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return target.stat().st_size


def _allowed_name(name: str, manifest: Manifest) -> bool:
    if name == manifest.database_file:
        return True
    if not name.startswith(MEDIA_PREFIX):
        return False
    try:
        check_key(name.removeprefix(MEDIA_PREFIX))
    except InvalidKey:
        return False
    return True


def _extract_checked(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, expected: str) -> None:
    source = tar.extractfile(member)
    if source is None:
        raise BackupError(f"the archive member {member.name} cannot be read")
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with source, target.open("wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != expected:
        raise BackupError(f"checksum mismatch for {member.name}: the archive is damaged")


def _read_manifest(tar: tarfile.TarFile) -> Manifest:
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise BackupError("the archive has no manifest: it is not an Emporium backup") from None
    source = tar.extractfile(member)
    if source is None:
        raise BackupError("the archive's manifest is not a file")
    with source:
        return Manifest.from_json(source.read())


@contextmanager
def opened_archive(archive: Path, staging: Path) -> Iterator[Manifest]:
    """Check the archive and unpack it into ``staging``: every member a plain file with a safe name, named
    in the manifest, with the manifest's checksum, and nothing missing. Raises :class:`BackupError` before
    anything is used when one check fails."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            manifest = _read_manifest(tar)
            seen: set[str] = set()
            for member in tar.getmembers():
                if member.name == MANIFEST:
                    continue
                if not member.isreg() or not _allowed_name(member.name, manifest):
                    raise BackupError(f"the archive holds an unexpected member {member.name!r}")
                expected = manifest.checksums.get(member.name)
                if expected is None or member.name in seen:
                    raise BackupError(f"the archive member {member.name} is not listed in its manifest")
                _extract_checked(tar, member, staging / member.name, expected)
                seen.add(member.name)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupError(f"the archive is damaged or not a tar file ({exc})") from exc
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and exc.filename == str(archive):
            raise BackupError(f"no archive at {archive}") from exc
        raise BackupError(f"the archive cannot be read ({exc})") from exc
    missing = sorted(set(manifest.checksums) - seen)
    if missing:
        raise BackupError(f"the archive lacks {len(missing)} member(s) its manifest lists, e.g. {missing[0]}")
    yield manifest
