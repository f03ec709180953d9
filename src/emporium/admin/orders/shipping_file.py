"""``/admin/orders/bulk-ship``: ship many orders from a file of order number, carrier and tracking number.

The file is all or nothing (orders/staff_moves.py ``bulk_ship``): every row is checked first, and any bad
row ships nothing and is listed with its line number, so the fixed file can simply be uploaded again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import File, UploadFile
from fastapi.responses import HTMLResponse, Response

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.core.errors import ValidationFailed
from emporium.core.permissions import Permission
from emporium.orders.shipments_csv import MAX_FILE_BYTES, MAX_ROWS, RowError
from emporium.orders.staff_moves import staff_moves

router = admin_router(prefix="/admin/orders")

ShippingPage = Annotated[AdminContext, AdminWith(Permission.ORDERS_UPDATE)]
TEMPLATE = "admin/orders/bulk_ship.html.j2"
BREADCRUMBS = [("Orders", "/admin/orders"), ("Ship from a file", None)]


async def _form(
    page: AdminContext,
    *,
    status_code: int = 200,
    error: str | None = None,
    row_errors: list[RowError] | None = None,
    filename: str | None = None,
) -> HTMLResponse:
    return await page.render(
        TEMPLATE,
        title="Ship from a file",
        status_code=status_code,
        breadcrumbs=BREADCRUMBS,
        error=error,
        row_errors=row_errors or [],
        filename=filename,
        max_kb=MAX_FILE_BYTES // 1024,
        max_rows=MAX_ROWS,
    )


@router.get("/bulk-ship", response_class=HTMLResponse, response_model=None)
async def bulk_ship_form(page: ShippingPage) -> Response:
    return await _form(page)


@router.post("/bulk-ship", response_class=HTMLResponse, response_model=None)
async def bulk_ship(page: ShippingPage, file: Annotated[UploadFile | None, File()] = None) -> Response:
    if file is None or not file.filename:
        return await _form(page, status_code=422, error="Choose the CSV file to upload.")
    raw = await file.read(MAX_FILE_BYTES + 1)
    name = (file.filename or "")[:200]
    try:
        outcome = await staff_moves.bulk_ship(page.session, page.settings, raw, actor=page.actor)
    except ValidationFailed as exc:
        return await _form(page, status_code=422, error=exc.message, filename=name)
    if outcome.errors:
        count = len(outcome.errors)
        error = f"Nothing was shipped: {count} row{'' if count == 1 else 's'} of {name} need fixing."
        return await _form(page, status_code=422, error=error, row_errors=outcome.errors, filename=name)
    shipped = outcome.shipped
    message = f"Shipped {len(shipped)} order{'' if len(shipped) == 1 else 's'}: {', '.join(shipped)}."
    return page.redirect("/admin/orders", flash=message[:480])
