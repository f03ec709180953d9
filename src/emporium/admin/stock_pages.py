"""``/admin/inventory``: the stock pools (on hand, reserved, available, threshold, the variants drawing from
each), low stock highlighted; one pool's page sets a count, adjusts by a delta with a reason, sets the
low-stock threshold and shows the pool's adjustment history.

Every screen and action needs ``inventory:write``. A refused change (a count below what orders reserve, a
malformed figure, a missing reason) answers the pool's page with the reason and a 4xx, and changes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query
from fastapi.responses import HTMLResponse, Response

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.params import CursorParam, OptionalText
from emporium.admin.routing import admin_router
from emporium.audit.schemas import AuditedObject
from emporium.audit.service import audit
from emporium.core.card_numbers import MESSAGE as CARD_MESSAGE
from emporium.core.card_numbers import holds_card_number
from emporium.core.errors import EmporiumError
from emporium.core.params import IdPath
from emporium.core.permissions import Permission
from emporium.inventory.schemas import MAX_QUANTITY, AdjustmentCreate
from emporium.inventory.service import PoolRow, inventory

router = admin_router(prefix="/admin/inventory")

StockPage = Annotated[AdminContext, AdminWith(Permission.INVENTORY_WRITE)]
PAGE_SIZE = 50
HISTORY_SIZE = 25
Flag = Annotated[str, Query(max_length=1, pattern=r"^[01]?$")]
# Figures arrive as text so that a malformed one gets a sentence on the form rather than a bare 422.
Figure = Annotated[str, Form(max_length=40)]
ReasonText = Annotated[str, Form(max_length=2000)]
REASON_MAX = 500
DEFAULT_COUNT_REASON = "Stock count"


class FormError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _quantity(text: str, field: str, *, signed: bool = False) -> int:
    """A whole number in the pool's unit: never negative unless ``signed``, never beyond MAX_QUANTITY."""
    cleaned = text.strip().replace("\N{MINUS SIGN}", "-")
    digits = cleaned[1:] if signed and cleaned[:1] in "+-" else cleaned
    if not digits.isascii() or not digits.isdigit():
        kind = "a whole number such as 12 or -3" if signed else "a whole number, 0 or more"
        raise FormError(field, f"Give {kind}.")
    value = int(cleaned)
    if abs(value) > MAX_QUANTITY:
        raise FormError(field, f"At most {MAX_QUANTITY:,} in absolute value.")
    return value


def _reason(text: str, *, required: bool) -> str:
    cleaned = " ".join(text.split())
    if not cleaned and required:
        raise FormError("reason", "Say why the stock changes (delivery, breakage, stock count…).")
    if len(cleaned) > REASON_MAX:
        raise FormError("reason", f"At most {REASON_MAX} characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in cleaned):
        raise FormError("reason", "Use plain text.")
    if holds_card_number(cleaned):
        raise FormError("reason", CARD_MESSAGE)
    return cleaned


def _pool_url(pool_id: int) -> str:
    return f"/admin/inventory/{pool_id}"


def _audited(row: PoolRow) -> AuditedObject:
    return AuditedObject(type="stock_pool", id=row.pool.id, label=row.pool.name)


@router.get("", response_class=HTMLResponse, response_model=None)
async def pool_list(
    page: StockPage,
    q: OptionalText = "",
    low_stock: Flag = "",
    out_of_stock: Flag = "",
    after: CursorParam = "",
) -> Response:
    query = q.strip()
    found = await inventory.pool_list(
        page.session,
        query=query,
        low_only=low_stock == "1",
        out_only=out_of_stock == "1",
        after=after or None,
        limit=PAGE_SIZE,
    )
    params = {"q": query, "low_stock": low_stock if low_stock == "1" else "", "out_of_stock": out_of_stock}
    return await page.render(
        "admin/stock/pool_list.html.j2",
        title="Inventory",
        breadcrumbs=[("Inventory", None)],
        rows=found.rows,
        next_cursor=found.next_cursor,
        params={k: v for k, v in params.items() if v and v != "0"},
        filtered=bool(query) or low_stock == "1" or out_of_stock == "1",
    )


async def _pool_page(
    page: AdminContext,
    pool_id: int,
    *,
    before: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    row = await inventory.pool_row(page.session, pool_id)
    history = await inventory.history(page.session, pool_id, before=before or None, limit=HISTORY_SIZE)
    return await page.render(
        "admin/stock/pool.html.j2",
        title=row.pool.name,
        status_code=status_code,
        breadcrumbs=[("Inventory", "/admin/inventory"), (row.pool.name, None)],
        row=row,
        history=history.rows,
        next_cursor=history.next_cursor,
        errors=errors or {},
        values=values or {},
    )


@router.get("/{pool_id}", response_class=HTMLResponse, response_model=None)
async def pool_page(page: StockPage, pool_id: IdPath, before: CursorParam = "") -> Response:
    return await _pool_page(page, pool_id, before=before)


async def _refused(
    page: AdminContext, pool_id: int, field: str, message: str, values: dict[str, str], status_code: int
) -> HTMLResponse:
    return await _pool_page(
        page, pool_id, errors={field: message, "form": message}, values=values, status_code=status_code
    )


@router.post("/{pool_id}/count", response_model=None)
async def set_count(
    page: StockPage, pool_id: IdPath, on_hand: Figure = "", reason: ReasonText = ""
) -> Response:
    values = {"on_hand": on_hand, "count_reason": "" if holds_card_number(reason) else reason}
    row = await inventory.pool_row(page.session, pool_id)
    try:
        count = _quantity(on_hand, "on_hand")
        why = _reason(reason, required=False) or DEFAULT_COUNT_REASON
    except FormError as exc:
        field = "count_reason" if exc.field == "reason" else exc.field
        return await _refused(page, pool_id, field, exc.message, values, 422)
    try:
        async with page.session.begin_nested():
            change = await inventory.set_count(
                page.session, pool_id, count, reason=why, actor_user_id=page.staff.id
            )
            if change.before != change.after:
                audit.record(
                    page.session,
                    page.actor,
                    "stock.counted",
                    _audited(row),
                    {"on_hand": (change.before, change.after), "reason": (None, why)},
                )
    except EmporiumError as exc:
        return await _refused(page, pool_id, "on_hand", exc.message, values, exc.status_code)
    if change.before == change.after:
        return page.redirect(_pool_url(pool_id), flash="The count is unchanged.", flash_kind="info")
    return page.redirect(_pool_url(pool_id), flash=f"On hand set to {change.after} {row.pool.unit}.")


@router.post("/{pool_id}/adjust", response_model=None)
async def adjust(page: StockPage, pool_id: IdPath, delta: Figure = "", reason: ReasonText = "") -> Response:
    values = {"delta": delta, "adjust_reason": "" if holds_card_number(reason) else reason}
    row = await inventory.pool_row(page.session, pool_id)
    try:
        change = _quantity(delta, "delta", signed=True)
        if change == 0:
            raise FormError("delta", "Give a change other than 0: 5 adds five, -5 takes five away.")
        why = _reason(reason, required=True)
    except FormError as exc:
        field = "adjust_reason" if exc.field == "reason" else exc.field
        return await _refused(page, pool_id, field, exc.message, values, 422)
    try:
        async with page.session.begin_nested():
            adjustment = await inventory.adjust(
                page.session, pool_id, AdjustmentCreate(delta=change, reason=why), page.staff.id
            )
            audit.record(
                page.session,
                page.actor,
                "stock.adjusted",
                _audited(row),
                {
                    "on_hand": (adjustment.on_hand_after - change, adjustment.on_hand_after),
                    "reason": (None, why),
                },
            )
    except EmporiumError as exc:
        message = f"{exc.message} Nothing was changed."
        return await _refused(page, pool_id, "delta", message, values, exc.status_code)
    sign = "+" if change > 0 else ""
    return page.redirect(
        _pool_url(pool_id),
        flash=f"Adjusted by {sign}{change} {row.pool.unit}; {adjustment.on_hand_after} on hand now.",
    )


@router.post("/{pool_id}/threshold", response_model=None)
async def set_threshold(page: StockPage, pool_id: IdPath, threshold: Figure = "") -> Response:
    values = {"threshold": threshold}
    row = await inventory.pool_row(page.session, pool_id)
    try:
        level = _quantity(threshold, "threshold")
    except FormError as exc:
        return await _refused(page, pool_id, exc.field, exc.message, values, 422)
    async with page.session.begin_nested():
        change = await inventory.set_threshold(page.session, pool_id, level)
        if change.before != change.after:
            audit.record(
                page.session,
                page.actor,
                "stock.threshold_changed",
                _audited(row),
                {"low_stock_threshold": (change.before, change.after)},
            )
    return page.redirect(_pool_url(pool_id), flash=f"Low-stock threshold set to {level} {row.pool.unit}.")
