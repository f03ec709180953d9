"""``/admin/products/{id}/variants``: the option builder, the grid of every variant (SKU, name, prices,
weight, default, active, stock pool, draw per unit, what each can sell) and the pools' counts, saved in
one POST; removing an option value asks for a confirmation naming the variants that go.

Everything needs ``products:write``; changing a pool's count also ``inventory:write``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.catalog.option_builder import (
    MAX_OPTIONS,
    OptionPlan,
    OptionSpec,
    option_builder,
    options_of_grid,
    parse_specs,
)
from emporium.catalog.schemas import MAX_PRICE
from emporium.catalog.variant_grid import Grid, GridIn, GridInvalid, PoolIn, RowIn, variant_grid
from emporium.core.errors import ValidationFailed
from emporium.core.params import MAX_ID, IdPath
from emporium.core.permissions import Permission

router = admin_router(prefix="/admin/products")

ProductsWrite = Annotated[AdminContext, AdminWith(Permission.PRODUCTS_WRITE)]
ROW_FIELDS = ("name", "sku", "price", "compare_at", "weight", "draw", "pool")
POOL_FIELDS = ("on_hand", "unit", "seen")
MAX_ROWS = 250
MAX_VALUE_LENGTH = 300
_KEY = re.compile(r"^(?P<field>[a-z_]+)\.(?P<id>[0-9]+)$")


def _url(product_id: int) -> str:
    return f"/admin/products/{product_id}/variants"


def _bad_form(message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": "form", "message": message}])


def _id(text: str) -> int:
    number = int(text) if len(text) < 20 else 0
    if not 1 <= number <= MAX_ID:
        raise _bad_form("The form names a variant that cannot exist.")
    return number


def _text_fields(form: FormData) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            raise _bad_form("This form takes no files.")
        if len(value) > MAX_VALUE_LENGTH or "\x00" in value:
            raise _bad_form(f"A field of the form is longer than {MAX_VALUE_LENGTH} characters.")
        if key in values:
            raise _bad_form("A field of the form was sent twice.")
        values[key] = value
    return values


def _grouped(values: dict[str, str]) -> tuple[dict[int, dict[str, str]], dict[int, dict[str, str]]]:
    """The ``field.id`` keys gathered into rows (by variant id) and pools (by pool id), each complete."""
    rows: dict[int, dict[str, str]] = {}
    pools: dict[int, dict[str, str]] = {}
    for key, value in values.items():
        found = _KEY.fullmatch(key)
        if found is None:
            continue
        name, number = found["field"], _id(found["id"])
        if name in (*ROW_FIELDS, "active"):
            rows.setdefault(number, {})[name] = value
        elif name in POOL_FIELDS:
            pools.setdefault(number, {})[name] = value
    if not rows or len(rows) > MAX_ROWS or len(pools) > MAX_ROWS:
        raise _bad_form(f"The form must carry between 1 and {MAX_ROWS} variants.")
    if any(name not in fields for fields in rows.values() for name in ROW_FIELDS):
        raise _bad_form("A row of the form is incomplete.")
    if any(name not in fields for fields in pools.values() for name in POOL_FIELDS):
        raise _bad_form("A stock pool of the form is incomplete.")
    return rows, pools


def grid_input(form: FormData) -> GridIn:
    """The grid's fields (``sku.12``, ``price.12``, ``on_hand.7``...) read into rows and pools; a form
    that no page of ours could send is refused (422) before anything is looked up."""
    values = _text_fields(form)
    rows, pools = _grouped(values)
    default = values.get("default", "")
    return GridIn(
        rows=[
            RowIn(
                variant_id=vid,
                name=f["name"],
                sku=f["sku"],
                price=f["price"],
                compare_at=f["compare_at"],
                weight=f["weight"],
                draw=f["draw"],
                pool=f["pool"],
                active=f.get("active") == "1",
            )
            for vid, f in rows.items()
        ],
        default_id=_id(default) if default.isascii() and default.isdigit() and len(default) < 20 else None,
        pools=[
            PoolIn(pool_id=pid, on_hand=f["on_hand"], unit=f["unit"], seen=f["seen"])
            for pid, f in pools.items()
        ],
    )


async def render_grid(
    page: AdminContext,
    grid: Grid,
    *,
    status_code: int = 200,
    error: str | None = None,
    sent: GridIn | None = None,
    invalid: GridInvalid | None = None,
    specs: list[OptionSpec] | None = None,
    option_errors: dict[str, str] | None = None,
    new_price: str | None = None,
) -> HTMLResponse:
    shown = specs if specs is not None else options_of_grid(grid)
    default_price = next((v.price for v in grid.variants if v.default), "")
    return await page.render(
        "admin/products/variants.html.j2",
        title=f"Variants of {grid.product_name}",
        breadcrumbs=[
            ("Products", "/admin/products"),
            (grid.product_name, f"/admin/products/{grid.product_id}"),
            ("Variants and stock", None),
        ],
        status_code=status_code,
        product={"id": grid.product_id, "name": grid.product_name},
        tab="variants",
        grid=grid,
        sent={row.variant_id: row for row in sent.rows} if sent else {},
        sent_pools={pool.pool_id: pool for pool in sent.pools} if sent else {},
        sent_default=sent.default_id if sent else None,
        row_errors=invalid.rows if invalid else {},
        pool_errors=invalid.pools if invalid else {},
        general_errors=invalid.general if invalid else [],
        error=error,
        builder_rows=[*shown, *[OptionSpec("", ())] * max(0, MAX_OPTIONS - len(shown))][:MAX_OPTIONS],
        option_errors=option_errors or {},
        new_price=default_price if new_price is None else new_price,
        pools_by_id={pool.id: pool for pool in grid.pools},
    )


@router.get("/{product_id}/variants", response_class=HTMLResponse, response_model=None)
async def variants_page(page: ProductsWrite, product_id: IdPath) -> Response:
    return await render_grid(page, await variant_grid.grid(page.session, product_id))


@router.post("/{product_id}/variants", response_model=None)
async def save_variants(page: ProductsWrite, product_id: IdPath) -> Response:
    sent = grid_input(await page.request.form())
    if sent.pools:
        page.require(Permission.INVENTORY_WRITE)
    try:
        changed = await variant_grid.save(page.session, product_id, sent, page.actor)
    except GridInvalid as exc:
        grid = await variant_grid.grid(page.session, product_id)
        return await render_grid(page, grid, status_code=422, error=exc.message, sent=sent, invalid=exc)
    message = f"Saved: {changed} change{'' if changed == 1 else 's'}." if changed else "Nothing had changed."
    return page.redirect(_url(product_id), flash=message)


def _spec_fields(form: dict[str, str]) -> tuple[list[str], list[str]]:
    names = [form.get(f"option_name.{i}", "") for i in range(MAX_OPTIONS)]
    values = [form.get(f"option_values.{i}", "") for i in range(MAX_OPTIONS)]
    return names, values


def _price(text: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    try:
        price = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("Not an amount: write it like 19.99.") from exc
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise ValueError("Give a price between 0 and the largest a shop may set.")
    return price


@router.post("/{product_id}/variants/options", response_model=None)
async def save_options(page: ProductsWrite, product_id: IdPath) -> Response:
    """Plan the new options; with removals, show them for confirmation first (``confirm=1`` applies)."""
    form = _text_fields(await page.request.form())
    names, values = _spec_fields(form)
    price_text = form.get("new_price", "")
    grid = await variant_grid.grid(page.session, product_id)
    typed = [
        OptionSpec(" ".join(n.split()).lower(), tuple(values[i].split(","))) for i, n in enumerate(names)
    ]
    try:
        specs = parse_specs(names, values)
        price = _price(price_text)
        plan = await option_builder.plan(page.session, product_id, specs)
        if plan.remove and form.get("confirm") != "1":
            return await _confirmation(page, plan, names, values, price_text)
        # A refusal half-way leaves nothing behind.
        async with page.session.begin_nested():
            await option_builder.apply(page.session, plan, price, page.actor)
    except (ValidationFailed, ValueError) as exc:
        errors = _option_errors(exc)
        general = exc.message if isinstance(exc, ValidationFailed) else ""
        return await render_grid(
            page,
            grid,
            status_code=422,
            error=general
            if general and general != ValidationFailed.message
            else "The options were not saved: " + "; ".join(errors.values()),
            specs=[spec for spec in typed if spec.name or any(v.strip() for v in spec.values)],
            option_errors=errors,
            new_price=price_text,
        )
    return page.redirect(_url(product_id), flash=_summary(plan))


def _option_errors(exc: Exception) -> dict[str, str]:
    if isinstance(exc, ValidationFailed):
        found = {str(d.get("field")): str(d.get("message")) for d in exc.details}
        return found or {"option": exc.message}
    return {"new_price": str(exc)}


def _summary(plan: OptionPlan) -> str:
    parts = []
    if plan.create:
        parts.append(f"{len(plan.create)} variant{'' if len(plan.create) == 1 else 's'} added")
    deleted = sum(1 for r in plan.remove if r.outcome == "deleted")
    kept = len(plan.remove) - deleted
    if deleted:
        parts.append(f"{deleted} deleted")
    if kept:
        parts.append(f"{kept} deactivated (they have been ordered)")
    if plan.reactivate:
        parts.append(f"{len(plan.reactivate)} active again")
    return ("Options saved: " + ", ".join(parts) + ".") if parts else "Options saved."


async def _confirmation(
    page: AdminContext, plan: OptionPlan, names: list[str], values: list[str], price: str
) -> HTMLResponse:
    return await page.render(
        "admin/products/variants_remove.html.j2",
        title=f"Remove variants of {plan.product_name}",
        breadcrumbs=[
            ("Products", "/admin/products"),
            (plan.product_name, f"/admin/products/{plan.product_id}"),
            ("Variants and stock", _url(plan.product_id)),
            ("Remove variants", None),
        ],
        product={"id": plan.product_id, "name": plan.product_name},
        tab="variants",
        plan=plan,
        fields=[(f"option_name.{i}", n) for i, n in enumerate(names)]
        + [(f"option_values.{i}", v) for i, v in enumerate(values)]
        + [("new_price", price)],
    )
