"""Bulk edits from the product list: ``POST /admin/products/bulk/preview`` shows how many products change
and before → after for the first of them, ``POST /admin/products/bulk/apply`` makes the change (ticked
products at once; every product of a filter by a background job), and ``/admin/products/bulk/{id}`` follows
such a job, its progress polled by htmx (a plain link reloads it without JavaScript).

A refused edit (a price below zero, an unknown category, nothing ticked) is the preview page again with the
reason and a 4xx; nothing is changed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Form
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.products.choices import category_choices
from emporium.admin.products.query import ProductTableQuery, parse_query
from emporium.admin.routing import admin_router
from emporium.catalog.bulk import ACTION_NAMES, BulkAction, BulkRequest, Preview, bulk_editor
from emporium.catalog.price_change import PriceChange
from emporium.core.errors import EmporiumError, ValidationFailed
from emporium.core.params import MAX_ID, IdPath
from emporium.core.permissions import Permission

router = admin_router(prefix="/admin/products/bulk")

ProductsPage = Annotated[AdminContext, AdminWith(Permission.PRODUCTS_WRITE)]
ProductIds = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_ID)]], Form(alias="product_id", default_factory=list)
]
Scope = Annotated[Literal["selected", "filter"], Form()]
Action = Annotated[BulkAction, Form()]
Text = Annotated[str, Form(max_length=40)]
Query = Annotated[str, Form(max_length=1000)]
_ERROR_STATUS = (400, 404, 409, 422)


@dataclass(frozen=True)
class BulkForm:
    """The bulk form's fields as the browser sent them; the preview and the apply read the same form."""

    scope: Literal["selected", "filter"]
    action: BulkAction
    product_ids: list[int]
    category_id: str
    price_mode: str
    price_direction: str
    price_value: str
    query: str

    def values(self) -> dict[str, object]:
        """The fields for the page to write back into its form."""
        return asdict(self)

    def request(self, currency: str) -> BulkRequest:
        category = None
        if self.category_id.strip():
            if not self.category_id.strip().isdigit() or not 1 <= int(self.category_id) <= MAX_ID:
                raise ValidationFailed(
                    "That category does not exist: choose another.",
                    details=[{"field": "category_id", "message": "No such category."}],
                )
            category = int(self.category_id)
        price = (
            PriceChange.parse(self.price_mode, self.price_direction, self.price_value, currency)
            if self.action == "price"
            else None
        )
        return BulkRequest(
            action=self.action, category_id=category if self.action == "move" else None, price=price
        )


def bulk_form(
    scope: Scope,
    action: Action,
    product_ids: ProductIds,
    category_id: Text = "",
    price_mode: Text = "",
    price_direction: Text = "",
    price_value: Text = "",
    query: Query = "",
) -> BulkForm:
    return BulkForm(scope, action, product_ids, category_id, price_mode, price_direction, price_value, query)


BulkFormFields = Annotated[BulkForm, Depends(bulk_form)]


def _message(exc: EmporiumError) -> str:
    details = "; ".join(str(d.get("message")) for d in exc.details if d.get("message"))
    if exc.message == ValidationFailed.message and details:
        return details
    return exc.message


async def _render(
    page: AdminContext,
    *,
    query: ProductTableQuery | None,
    form: dict[str, object],
    preview: Preview | None = None,
    request: BulkRequest | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    currency = page.settings.currency
    return await page.render(
        "admin/products/bulk_preview.html.j2",
        title="Bulk change: preview",
        breadcrumbs=[("Products", "/admin/products"), ("Bulk change", None)],
        status_code=status_code,
        preview=preview,
        description=request.describe(currency) if request else ACTION_NAMES.get(str(form["action"]), ""),
        form=form,
        list_url="/admin/products" + (f"?{query.query_string()}" if query and query.query_string() else ""),
        error=error,
        categories=await category_choices(page.session),
    )


@router.post("/preview", response_class=HTMLResponse, response_model=None)
async def preview(page: ProductsPage, bulk: BulkFormFields) -> Response:
    form = bulk.values()
    scope, product_ids, query = bulk.scope, bulk.product_ids, bulk.query
    table: ProductTableQuery | None = None
    try:
        table = parse_query(query)
        request = bulk.request(page.settings.currency)
        async with page.session.begin_nested():
            if scope == "selected":
                found = await bulk_editor.preview_selection(
                    page.session, request, product_ids, page.settings.currency
                )
            else:
                found = await bulk_editor.preview_filter(
                    page.session, request, table.filters(), page.settings.currency
                )
    except EmporiumError as exc:
        if exc.status_code not in _ERROR_STATUS:
            raise
        return await _render(page, query=table, form=form, error=_message(exc), status_code=exc.status_code)
    return await _render(page, query=table, form=form, preview=found, request=request)


@router.post("/apply", response_model=None)
async def apply(page: ProductsPage, bulk: BulkFormFields) -> Response:
    form = bulk.values()
    scope, product_ids, query = bulk.scope, bulk.product_ids, bulk.query
    table: ProductTableQuery | None = None
    currency = page.settings.currency
    try:
        table = parse_query(query)
        request = bulk.request(currency)
        async with page.session.begin_nested():
            if scope == "filter":
                edit = await bulk_editor.start(page.session, page.actor, request, table.filters(), currency)
            else:
                changed = await bulk_editor.apply_selection(
                    page.session, page.actor, request, product_ids, currency
                )
    except EmporiumError as exc:
        if exc.status_code not in _ERROR_STATUS:
            raise
        return await _render(page, query=table, form=form, error=_message(exc), status_code=exc.status_code)
    if scope == "filter":
        return page.redirect(
            f"/admin/products/bulk/{edit.id}", flash="The change has started.", flash_kind="info"
        )
    back = "/admin/products" + (f"?{table.query_string()}" if table.query_string() else "")
    done = f"{request.describe(currency)}: {changed} product{'s' if changed != 1 else ''} changed."
    return page.redirect(back, flash=done)


async def _edit_context(page: AdminContext, edit_id: int) -> dict[str, Any]:
    edit = await bulk_editor.edit(page.session, edit_id)
    request = BulkRequest.from_row(edit)
    total = max(edit.total, edit.processed, 1)
    stopped = await bulk_editor.stopped_reason(page.session, edit)
    return {
        "edit": edit,
        "description": request.describe(str(edit.params.get("currency", page.settings.currency))),
        "percent": 100 if edit.status == "done" else min(99, edit.processed * 100 // total),
        "running": edit.status in ("pending", "running") and stopped is None,
        "stopped": stopped,
        "can_retry": page.can(Permission.SETTINGS_MANAGE),
    }


@router.get("/{edit_id}", response_class=HTMLResponse, response_model=None)
async def progress_page(page: ProductsPage, edit_id: IdPath) -> Response:
    return await page.render(
        "admin/products/bulk_progress.html.j2",
        title="Bulk change",
        breadcrumbs=[("Products", "/admin/products"), ("Bulk change", None)],
        **await _edit_context(page, edit_id),
    )


@router.get("/{edit_id}/progress", response_class=HTMLResponse, response_model=None)
async def progress(page: ProductsPage, edit_id: IdPath) -> Response:
    """The progress box alone, for htmx to swap in while the job runs."""
    return await page.fragment("admin/products/_bulk_progress.html.j2", **await _edit_context(page, edit_id))
