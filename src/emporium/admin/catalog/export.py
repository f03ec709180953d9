"""``/admin/catalog/export``: the catalog CSV of the product list's current filter, in the format the import
reads (an export imports back unchanged). The products list links here with its own query, read by the same
model (admin/products/query.py) and walked by the same conditions, so the file holds what the list shows;
without a filter, the whole catalog.

The file is streamed a batch of products at a time from a read-only transaction of its own (the request's
ends before the body is sent). Text a spreadsheet would run as a formula is written behind an apostrophe,
which the import takes off again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote

from fastapi import Query
from fastapi.responses import Response, StreamingResponse

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.products.query import ProductTableQuery
from emporium.admin.routing import admin_router
from emporium.catalog.csv.filtered_export import stream_export
from emporium.catalog.schemas import StaffProductFilters
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.permissions import Permission
from emporium.web.page import NO_STORE

router = admin_router(prefix="/admin/catalog")

ExportPage = Annotated[AdminContext, AdminWith(Permission.PRODUCTS_WRITE)]


async def _lines(ctx: AppContext, filters: StaffProductFilters) -> AsyncIterator[bytes]:
    async with ctx.db.read_session() as session:
        async for text in stream_export(session, filters):
            yield text.encode()


@router.get("/export", response_model=None)
async def export_catalog(page: ExportPage, query: Annotated[ProductTableQuery, Query()]) -> Response:
    filename = f"catalog-{utcnow():%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(
        _lines(page.ctx, query.filters()),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": NO_STORE,
            "X-Content-Type-Options": "nosniff",
        },
    )
