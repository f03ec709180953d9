"""``/admin/catalog/export``: the catalog CSV of the product list's current filter, in the format the import
reads (an export imports back unchanged). The products list links here with its own query: ``q`` (a piece of
the name, or a SKU), ``category`` (with its subcategories), ``brand``, ``status``, ``stock`` (in, low, out)
and ``featured=1``; without them, the whole catalog.

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
from emporium.admin.params import OptionalText
from emporium.admin.routing import admin_router
from emporium.catalog.csv.filtered_export import stream_export
from emporium.catalog.csv.filters import ExportFilter, StockState
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.permissions import Permission
from emporium.web.page import NO_STORE

router = admin_router(prefix="/admin/catalog")

ExportPage = Annotated[AdminContext, AdminWith(Permission.PRODUCTS_WRITE)]
_STOCK: dict[str, StockState] = {"in": "in", "low": "low", "out": "out"}
OptionalId = Annotated[str, Query(max_length=19, pattern=r"^([1-9][0-9]{0,18})?$")]


def _id(value: str) -> int | None:
    number = int(value) if value else None
    return number if number is None or number < 2**63 else None


async def _lines(ctx: AppContext, chosen: ExportFilter) -> AsyncIterator[bytes]:
    async with ctx.db.read_session() as session:
        async for text in stream_export(session, chosen):
            yield text.encode()


@router.get("/export", response_model=None)
async def export_catalog(
    page: ExportPage,
    q: OptionalText = "",
    category: OptionalId = "",
    brand: OptionalId = "",
    status: Annotated[str, Query(pattern=r"^(draft|active|archived)?$")] = "",
    stock: Annotated[str, Query(pattern=r"^(in|low|out)?$")] = "",
    featured: Annotated[str, Query(pattern=r"^(1|0)?$")] = "",
) -> Response:
    chosen = ExportFilter(
        q=q.strip(),
        category_id=_id(category),
        brand_id=_id(brand),
        status=status or None,
        stock=_STOCK.get(stock),
        featured=featured == "1",
    )
    filename = f"catalog-{utcnow():%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(
        _lines(page.ctx, chosen),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": NO_STORE,
            "X-Content-Type-Options": "nosniff",
        },
    )
