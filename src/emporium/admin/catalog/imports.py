"""``/admin/catalog/import``: upload a catalog CSV, see what it would do (every bad row and column named, or
the counts of what would be created and updated: nothing is written), then apply it.

The checked file is kept server-side for the staff member who uploaded it (catalog/csv/uploads.py): the
"Apply" form names it by a token, and another staff member's token is "not found". A file of more rows than
``catalog_import_background_rows`` is imported by a background job; its page shows a progress bar that
htmx refreshes (without JavaScript the page reloads itself) and ends with the report.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import File, Path, UploadFile
from fastapi.responses import HTMLResponse, Response

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.catalog.csv import uploads
from emporium.catalog.csv.rows import COLUMNS, REQUIRED, ImportReport
from emporium.core.config import Settings
from emporium.core.errors import EmporiumError
from emporium.core.middleware import BodyLimit
from emporium.core.permissions import Permission

router = admin_router(prefix="/admin/catalog/import")

ImportPage = Annotated[AdminContext, AdminWith(Permission.PRODUCTS_WRITE)]
Token = Annotated[str, Path(min_length=20, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
FORM = "admin/catalog/import.html.j2"
STATUS = "admin/catalog/import_status.html.j2"
PROGRESS = "admin/catalog/_import_progress.html.j2"
CRUMBS = [("Products", "/admin/products"), ("Import", None)]
# A page naming problems stays readable; the file is refused whole whatever the count.
SHOWN_ERRORS = 1000
_UPLOAD_PATH = re.compile(r"/admin/catalog/import/?")


def admin_import_body_limit(settings: Settings) -> BodyLimit:
    """The upload takes a whole catalog, as the API's import does."""
    return BodyLimit("POST", _UPLOAD_PATH, settings.max_import_bytes + 64 * 1024)


async def _form(
    page: AdminContext,
    *,
    status_code: int = 200,
    error: str | None = None,
    report: ImportReport | None = None,
    filename: str | None = None,
) -> HTMLResponse:
    errors = report.errors if report else []
    return await page.render(
        FORM,
        title="Import products",
        status_code=status_code,
        breadcrumbs=CRUMBS,
        error=error,
        row_errors=errors[:SHOWN_ERRORS],
        hidden_errors=max(len(errors) - SHOWN_ERRORS, 0),
        filename=filename,
        columns=COLUMNS,
        required=REQUIRED,
        max_size=uploads.size_text(page.settings.max_import_bytes),
        max_bytes=page.settings.max_import_bytes,
        background_rows=page.settings.catalog_import_background_rows,
    )


@router.get("", response_class=HTMLResponse, response_model=None)
async def import_form(page: ImportPage) -> Response:
    return await _form(page)


@router.post("", response_class=HTMLResponse, response_model=None)
async def check_upload(page: ImportPage, file: Annotated[UploadFile | None, File()] = None) -> Response:
    """The dry run: problems listed (422), or the counts and the "Apply" button."""
    if file is None or not file.filename:
        return await _form(page, status_code=422, error="Choose the CSV file to upload.")
    name = file.filename[:200]
    raw = await file.read(page.settings.max_import_bytes + 1)
    try:
        preview = await uploads.check(
            page.session, page.settings, staff_user_id=page.staff.id, filename=name, raw=raw
        )
    except EmporiumError as exc:
        if exc.status_code not in (413, 422):
            raise
        return await _form(page, status_code=exc.status_code, error=exc.message, filename=name)
    if preview.upload is None:
        count = len(preview.report.errors)
        error = (
            f"Nothing was imported: {count} problem{'' if count == 1 else 's'} in {name}. "
            "Fix them and upload the whole file again."
        )
        return await _form(page, status_code=422, error=error, report=preview.report, filename=name)
    return page.redirect(f"/admin/catalog/import/{preview.upload.token}")


async def _status(
    page: AdminContext, token: str, *, status_code: int = 200, error: str | None = None
) -> Response:
    upload = await uploads.owned(page.session, token, page.staff.id)
    progress = await uploads.progress(page.session, page.ctx.cache, upload)
    return await page.render(
        STATUS,
        title=f"Import {upload.filename}",
        status_code=status_code,
        breadcrumbs=[
            ("Products", "/admin/products"),
            ("Import", "/admin/catalog/import"),
            (upload.filename, None),
        ],
        upload=upload,
        report=uploads.report_of(upload),
        progress=progress,
        background=uploads.in_background(page.settings, upload),
        error=error,
        shown_errors=SHOWN_ERRORS,
    )


@router.get("/{token}", response_class=HTMLResponse, response_model=None)
async def upload_status(page: ImportPage, token: Token) -> Response:
    """A checked upload waiting for "Apply", an import under way, or its report."""
    return await _status(page, token)


@router.get("/{token}/progress", response_class=HTMLResponse, response_model=None)
async def upload_progress(page: ImportPage, token: Token) -> Response:
    """The progress part of the page, for htmx to swap in; it stops asking once the import has ended."""
    upload = await uploads.owned(page.session, token, page.staff.id)
    progress = await uploads.progress(page.session, page.ctx.cache, upload)
    return await page.fragment(PROGRESS, upload=upload, progress=progress, report=uploads.report_of(upload))


@router.post("/{token}/apply", response_model=None)
async def apply_upload(page: ImportPage, token: Token) -> Response:
    upload = await uploads.owned(page.session, token, page.staff.id, lock=True)
    try:
        async with page.session.begin_nested():
            report = await uploads.apply(page.session, page.settings, upload, page.actor)
    except EmporiumError as exc:
        if exc.status_code not in (409, 422):
            raise
        return await _status(page, token, status_code=exc.status_code, error=exc.message)
    url = f"/admin/catalog/import/{upload.token}"
    if report is None:
        return page.redirect(url, flash="The import has started; this page follows it.", flash_kind="info")
    if report.errors:
        return page.redirect(
            url, flash="Nothing was imported: the catalog changed since the check.", flash_kind="error"
        )
    return page.redirect(
        url,
        flash=f"Imported {report.rows} rows: {report.products_created} products created, "
        f"{report.products_updated} updated.",
    )
