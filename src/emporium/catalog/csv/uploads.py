"""Catalog CSV files uploaded in the back office: checked first (a dry run naming every bad row and column),
kept for their uploader until "Apply", then imported in the request or, past a number of rows, as a background
job whose progress a page can follow.

A kept upload belongs to the staff member who sent it: every look-up is by its token *and* their id, so
another staff member's token is "not found". It expires after ``catalog_import_ttl_minutes``; a periodic job
deletes expired uploads. A file with any bad row is never kept: the preview lists the problems and nothing is
stored or written.

The job's progress (rows written) goes to the shared cache, not the database: the import writes every row in
one transaction, which on SQLite holds the only write lock until it ends. Without a shared cache between the
web and worker processes the page shows an indeterminate bar, then the report from the database.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import audit
from emporium.catalog.csv.errors import CsvError
from emporium.catalog.csv.models import CatalogImport, ImportStatus
from emporium.catalog.csv.rows import ImportReport, RowError
from emporium.catalog.csv.service import import_catalog
from emporium.catalog.csv.upload_repository import UploadRepository
from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.errors import Conflict, EmporiumError, NotFound, ValidationFailed
from emporium.core.jobs import enqueue

if TYPE_CHECKING:
    from emporium.core.cache import Cache

IMPORT_JOB = "catalog.import_csv"


class FileTooLarge(EmporiumError):
    status_code = 413
    code = CsvError.FILE_TOO_LARGE
    message = "The file is too large."


@dataclass(frozen=True)
class Preview:
    """What a check found: the report (counts, or every bad row) and the kept upload when there was none."""

    report: ImportReport
    upload: CatalogImport | None


@dataclass(frozen=True)
class Progress:
    status: str
    total: int
    done: int | None  # rows written so far, when the cache knows


def size_text(size: int) -> str:
    """``20971520`` -> "20 MB", ``2048`` -> "2 KB"."""
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{max(size // 1024, 1)} KB"


def decode(raw: bytes, max_bytes: int) -> str:
    """The upload as text, or a refusal that says why it is not a CSV file this shop reads."""
    if len(raw) > max_bytes:
        raise FileTooLarge(
            f"The file is larger than {size_text(max_bytes)}; split it into smaller files.",
        )
    if not raw.strip():
        raise ValidationFailed("The file is empty.", code=CsvError.INVALID_CSV)
    if b"\x00" in raw:
        raise ValidationFailed(
            "This is not a CSV file: it holds binary data. Save the sheet as CSV (UTF-8) and upload that.",
            code=CsvError.NOT_TEXT,
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            "The file is not UTF-8 text. Save the sheet as CSV (UTF-8) and upload that.",
            code=CsvError.NOT_TEXT,
        ) from exc


async def check(
    session: AsyncSession, settings: Settings, *, staff_user_id: int, filename: str, raw: bytes
) -> Preview:
    """A dry run of the file; a file without problems is kept for ``staff_user_id`` to apply."""
    text = decode(raw, settings.max_import_bytes)
    report = await import_catalog(session, text, currency=settings.currency, dry_run=True)
    if report.errors:
        return Preview(report=report, upload=None)
    upload = await UploadRepository(session).add(
        CatalogImport(
            token=secrets.token_urlsafe(24),
            staff_user_id=staff_user_id,
            filename=filename[:200] or "catalog.csv",
            content=text,
            rows=report.rows,
            status=ImportStatus.CHECKED,
            report=counts(report),
            expires_at=utcnow() + timedelta(minutes=settings.catalog_import_ttl_minutes),
        )
    )
    return Preview(report=report, upload=upload)


async def owned(
    session: AsyncSession, token: str, staff_user_id: int, *, lock: bool = False
) -> CatalogImport:
    """The upload ``token`` names, if ``staff_user_id`` sent it; anybody else's is "not found"."""
    upload = await UploadRepository(session).of_staff(token, staff_user_id, lock=lock)
    if upload is None:
        raise NotFound("No such upload of yours. Upload the file again.", code=CsvError.UPLOAD_NOT_FOUND)
    return upload


def in_background(settings: Settings, upload: CatalogImport) -> bool:
    return upload.rows > settings.catalog_import_background_rows


async def apply(
    session: AsyncSession, settings: Settings, upload: CatalogImport, actor: Actor
) -> ImportReport | None:
    """Import a checked upload: now (the report), or as a background job past the threshold (None)."""
    if upload.status != ImportStatus.CHECKED:
        raise Conflict("This file has already been applied.", code=CsvError.UPLOAD_USED)
    if upload.expires_at <= utcnow():
        raise Conflict(
            "This upload has expired; upload the file again to check it.", code=CsvError.UPLOAD_EXPIRED
        )
    if in_background(settings, upload):
        job = enqueue(
            session,
            IMPORT_JOB,
            {"import_id": upload.id, "actor": [actor.user_id, actor.email, actor.ip_address]},
            max_attempts=1,
        )
        await session.flush()
        upload.status = ImportStatus.QUEUED
        upload.job_id = job.id
        return None
    report = await import_catalog(
        session, upload.content, currency=settings.currency, dry_run=False, actor_user_id=actor.user_id
    )
    finish(session, upload, report, actor)
    return report


def counts(report: ImportReport) -> dict[str, Any]:
    values = asdict(report)
    values["errors"] = [asdict(e) for e in report.errors]
    return values


def report_of(upload: CatalogImport) -> ImportReport:
    """The report kept with the upload (counts, and the rows refused at apply time)."""
    values = dict(upload.report or {})
    errors = [RowError(**e) for e in values.pop("errors", [])]
    known = {k: v for k, v in values.items() if k in ImportReport.__dataclass_fields__}
    known.setdefault("dry_run", False)
    return ImportReport(**known, errors=errors)


def finish(session: AsyncSession, upload: CatalogImport, report: ImportReport, actor: Actor) -> None:
    """Record the outcome on the upload, drop its text, and audit an import that wrote."""
    upload.report = counts(report)
    upload.status = ImportStatus.FAILED if report.errors else ImportStatus.DONE
    upload.finished_at = utcnow()
    upload.content = ""
    if report.errors:
        return
    audit.record(
        session,
        actor,
        "catalog.imported",
        AuditedObject(type="catalog_import", id=upload.id, label=upload.filename),
        {
            "rows": (None, report.rows),
            "products_created": (None, report.products_created),
            "products_updated": (None, report.products_updated),
            "variants_created": (None, report.variants_created),
            "variants_updated": (None, report.variants_updated),
        },
    )


def progress_key(import_id: int) -> str:
    return f"catalog:import:{import_id}:done"


async def progress(session: AsyncSession, cache: Cache, upload: CatalogImport) -> Progress:
    """Where the upload's import stands; a job that died without finishing reads as failed."""
    status = upload.status
    if status in (ImportStatus.QUEUED, ImportStatus.RUNNING) and upload.job_id is not None:
        job_status = await UploadRepository(session).job_status(upload.job_id)
        if job_status in (None, "dead", "done"):
            # The handler records its own end; a job that ended without it stopped abnormally.
            status = ImportStatus.FAILED
    done: int | None = None
    if status == ImportStatus.RUNNING:
        with contextlib.suppress(Exception):
            value = await cache.get(progress_key(upload.id))
            done = int(value) if value is not None and value.isdigit() else None
    elif status == ImportStatus.DONE:
        done = upload.rows
    return Progress(status=status, total=upload.rows, done=done)


async def for_job(session: AsyncSession, import_id: int) -> CatalogImport | None:
    """The upload a background import works on, or None when it is gone."""
    return await UploadRepository(session).by_id(import_id)


def start(upload: CatalogImport) -> bool:
    """Mark a queued upload as running; False when its import has already ended (a repeated delivery)."""
    if upload.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return False
    upload.status = ImportStatus.RUNNING
    return True


def stopped(upload: CatalogImport) -> None:
    """Record an import that stopped on an unexpected error (its transaction, so every row, rolled back)."""
    report = ImportReport(dry_run=False, rows=upload.rows)
    report.errors.append(RowError(0, "", "The import stopped unexpectedly; nothing was imported."))
    upload.report = counts(report)
    upload.status = ImportStatus.FAILED
    upload.finished_at = utcnow()


async def forget_expired(session: AsyncSession) -> int:
    """Delete the uploads past their expiry that no import is working on; how many."""
    return await UploadRepository(session).delete_expired(utcnow())
