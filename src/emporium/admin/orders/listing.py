"""``/admin/orders``: the order table with its filters, search box, sorts and keyset pages; its CSV export;
each staff member's saved filters; and "mark as processing" on the orders ticked in the table."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from emporium.admin.flash import FlashKind
from emporium.admin.orders.table import TABLE_HEADER, OrderTableQuery, invalid, row_cells, saved_query
from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.analytics.periods import shop_zone
from emporium.core.errors import ValidationFailed
from emporium.core.params import MAX_ID, IdPath
from emporium.core.permissions import Permission
from emporium.orders.names import ORDER_STATUS_NAMES, PAYMENT_METHOD_NAMES, PAYMENT_STATUS_NAMES
from emporium.orders.saved_filters import saved_filters
from emporium.orders.schemas import SORT_NAMES
from emporium.orders.search import EXPORT_LIMIT, order_search
from emporium.orders.staff_moves import BULK_LIMIT, staff_moves

router = admin_router(prefix="/admin/orders")

OrdersPage = Annotated[AdminContext, AdminWith(Permission.ORDERS_READ)]
OrdersUpdate = Annotated[AdminContext, AdminWith(Permission.ORDERS_UPDATE)]
FilterName = Annotated[str, Form(min_length=1, max_length=60, pattern=r"^[^\x00-\x1f\x7f]+$")]
OrderIds = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_ID)]], Form(alias="order_id", default_factory=list)
]


def _list_url(query: str) -> str:
    return "/admin/orders" + (f"?{query}" if query else "")


@router.get("", response_class=HTMLResponse, response_model=None)
async def order_list(page: OrdersPage, query: Annotated[OrderTableQuery, Query()]) -> Response:
    zone = shop_zone(page.settings)
    search = query.search(zone)
    if query.format == "csv":
        rows = await order_search.export(page.session, search)
        if rows is None:
            raise ValidationFailed(
                f"More than {EXPORT_LIMIT:,} orders match: narrow the dates or add a filter, "
                "then export again."
            )
        return page.csv("orders.csv", TABLE_HEADER, [row_cells(row, zone) for row in rows])
    found = await order_search.page(page.session, search, after=query.after or None, limit=query.limit)
    params = query.params()
    next_params = {
        **params,
        "after": found.next_cursor or "",
        "limit": "" if query.limit == 50 else query.limit,
    }
    return await page.render(
        "admin/orders/list.html.j2",
        title="Orders",
        breadcrumbs=[("Orders", None)],
        rows=[(row, row_cells(row, zone)) for row in found.rows],
        header=TABLE_HEADER,
        next_params=next_params if found.next_cursor else None,
        params=params,
        query=query,
        query_string=query.query_string(),
        filtered=bool(set(params) - {"sort"}),
        first_page=not query.after,
        saved=await saved_filters.of(page.session, page.staff.id),
        statuses=ORDER_STATUS_NAMES,
        payment_statuses=PAYMENT_STATUS_NAMES,
        methods=PAYMENT_METHOD_NAMES,
        sorts=SORT_NAMES,
        zone=zone,
        bulk_limit=BULK_LIMIT,
    )


@router.post("/saved-filters", response_model=None)
async def save_filter(
    page: OrdersPage,
    name: FilterName,
    query: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Save the table's current filters under a name (a name used before is replaced)."""
    if not name.strip():
        raise invalid("name", "Give the filter a name.")
    clean = saved_query(query)
    saved = await saved_filters.save(page.session, page.actor, name.strip(), clean)
    return page.redirect(_list_url(saved.query), flash=f"Filter “{saved.name}” saved.")


@router.post("/saved-filters/{filter_id}/delete", response_model=None)
async def delete_filter(
    page: OrdersPage, filter_id: IdPath, query: Annotated[str, Form(max_length=1000)] = ""
) -> Response:
    name = await saved_filters.delete(page.session, page.actor, filter_id)
    try:
        back = saved_query(query)
    except ValidationFailed:
        back = ""
    return page.redirect(_list_url(back), flash=f"Filter “{name}” deleted.")


@router.post("/bulk/process", response_model=None)
async def bulk_process(
    page: OrdersUpdate,
    order_ids: OrderIds,
    query: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Mark the ticked orders as processing; those the state machine will not move are named."""
    if not order_ids:
        raise ValidationFailed("Tick the orders to mark as processing.")
    if len(order_ids) > BULK_LIMIT:
        raise ValidationFailed(f"Mark at most {BULK_LIMIT} orders at a time.")
    outcome = await staff_moves.bulk_process(page.session, page.settings, order_ids, actor=page.actor)
    try:
        back = _list_url(saved_query(query))
    except ValidationFailed:
        back = "/admin/orders"
    parts = []
    if outcome.done:
        parts.append(f"{len(outcome.done)} marked as processing: {', '.join(outcome.done)}.")
    if outcome.refused:
        left = "; ".join(f"{number} ({why})" for number, why in outcome.refused)
        parts.append(f"Not moved: {left}.")
    kind: FlashKind = "success" if not outcome.refused else ("info" if outcome.done else "error")
    return page.redirect(back, flash=" ".join(parts), flash_kind=kind)
