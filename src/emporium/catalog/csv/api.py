"""Staff CSV import and export of the catalog (products and variants, one row per variant)."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import StreamingResponse

from emporium.catalog.auth import ProductsWriter
from emporium.catalog.csv.errors import CsvError
from emporium.catalog.csv.service import import_catalog, load_export
from emporium.core.config import Settings
from emporium.core.context import Ctx
from emporium.core.db import utcnow
from emporium.core.errors import ValidationFailed, errors_doc
from emporium.core.middleware import BodyLimit
from emporium.core.params import API_PREFIX
from emporium.core.responses import Envelope, ok
from emporium.core.session import DbSession

_IMPORT_PATH = re.compile(rf"{re.escape(API_PREFIX)}/admin/catalog/import/?")


def import_body_limit(settings: Settings) -> BodyLimit:
    """The import route takes whole catalogs; every other route keeps ``max_request_body_bytes``."""
    return BodyLimit("POST", _IMPORT_PATH, settings.max_import_bytes + 64 * 1024)


router = APIRouter(prefix=f"{API_PREFIX}/admin/catalog", tags=["admin"])


@router.post("/import", responses=errors_doc(401, 403, 413, 422))
async def import_csv(
    staff: ProductsWriter,
    session: DbSession,
    ctx: Ctx,
    file: Annotated[UploadFile, File(description="UTF-8 CSV in the export's format.")],
    dry_run: Annotated[bool, Query(description="Check and count, write nothing.")] = False,
) -> Envelope[dict[str, Any]]:
    """Import products and variants. All or nothing: a bad row names itself and nothing is written."""
    try:
        text = (await file.read()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            "The file is not UTF-8 text.",
            code=CsvError.INVALID_CSV,
            details=[{"field": "file", "message": "not UTF-8"}],
        ) from exc
    report = await import_catalog(
        session, text, currency=ctx.settings.currency, dry_run=dry_run, actor_user_id=staff.id
    )
    if report.errors:
        raise ValidationFailed(
            f"{len(report.errors)} problem(s) in the file; nothing was imported.",
            code=CsvError.CSV_ROWS_INVALID,
            details=[
                {"field": f"row {e.row}: {e.column}".rstrip(": "), "message": e.message}
                for e in report.errors
            ],
        )
    summary = {k: v for k, v in asdict(report).items() if k != "errors"}
    return ok(summary, "Checked; nothing was written." if dry_run else "Imported.")


def _where(row: int, column: str) -> str:
    return f"row {row}: {column}" if column else f"row {row}"


@router.get("/export.csv", response_class=StreamingResponse, responses=errors_doc(401, 403))
async def export_csv(_: ProductsWriter, session: DbSession) -> StreamingResponse:
    """Every product and variant, in the format the import reads."""
    lines = await load_export(session)
    name = f"emporium-catalog-{utcnow():%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(
        iter(list(lines)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
