"""``/admin/brands``: the shop's brands with how many products carry each; add, rename (name, slug,
description), and delete a brand no product carries (a brand in use is refused with a message).
Every change is audited with its old and new values."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from emporium.admin.catalog.categories import form_errors
from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.audit.schemas import AuditedObject
from emporium.audit.service import audit, diff
from emporium.catalog.schemas import BrandIn, BrandRead
from emporium.catalog.taxonomy import taxonomy
from emporium.core.errors import EmporiumError
from emporium.core.params import IdPath
from emporium.core.permissions import Permission

router = admin_router(prefix="/admin/brands")

BrandsPage = Annotated[AdminContext, AdminWith(Permission.PRODUCTS_WRITE)]
Text = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=5000)]
AUDITED = ("name", "slug", "description")


def _state(brand: BrandRead | None) -> dict[str, object]:
    return {name: getattr(brand, name) for name in AUDITED} if brand else {}


def _brand_in(values: dict[str, str]) -> BrandIn:
    return BrandIn.model_validate(
        {"name": values["name"], "slug": values["slug"] or None, "description": values["description"] or None}
    )


async def _list_page(
    page: AdminContext,
    *,
    status_code: int = 200,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    return await page.render(
        "admin/catalog/brands.html.j2",
        title="Brands",
        status_code=status_code,
        breadcrumbs=[("Brands", None)],
        brands=await taxonomy.brands(page.session),
        counts=await taxonomy.product_counts_by_brand(page.session),
        error=error,
        errors=errors or {},
        values=values or {"name": "", "slug": "", "description": ""},
    )


@router.get("", response_class=HTMLResponse, response_model=None)
async def brand_list(page: BrandsPage) -> Response:
    return await _list_page(page)


@router.post("", response_model=None)
async def add_brand(
    page: BrandsPage, name: Text = "", slug: Text = "", description: LongText = ""
) -> Response:
    values = {"name": name, "slug": slug, "description": description}
    try:
        data = _brand_in(values)
    except ValidationError as exc:
        return await _list_page(page, status_code=422, errors=form_errors(exc), values=values)
    try:
        async with page.session.begin_nested():
            created = await taxonomy.create_brand(page.session, data)
            audit.record(
                page.session,
                page.actor,
                "brand.created",
                AuditedObject("brand", created.id, created.name),
                diff({}, _state(created)),
            )
    except EmporiumError as exc:
        if exc.status_code not in (409, 422):
            raise
        return await _list_page(page, status_code=exc.status_code, error=exc.message, values=values)
    return page.redirect("/admin/brands", flash=f"Brand “{created.name}” added.")


async def _edit_page(
    page: AdminContext,
    brand: BrandRead,
    *,
    status_code: int = 200,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    counts = await taxonomy.product_counts_by_brand(page.session)
    return await page.render(
        "admin/catalog/brand.html.j2",
        title=brand.name,
        status_code=status_code,
        breadcrumbs=[("Brands", "/admin/brands"), (brand.name, None)],
        brand=brand,
        products=counts.get(brand.id, 0),
        error=error,
        errors=errors or {},
        values=values or {"name": brand.name, "slug": brand.slug, "description": brand.description or ""},
    )


@router.get("/{brand_id}", response_class=HTMLResponse, response_model=None)
async def edit_brand(page: BrandsPage, brand_id: IdPath) -> Response:
    return await _edit_page(page, await taxonomy.brand(page.session, brand_id))


@router.post("/{brand_id}", response_model=None)
async def save_brand(
    page: BrandsPage, brand_id: IdPath, name: Text = "", slug: Text = "", description: LongText = ""
) -> Response:
    before = await taxonomy.brand(page.session, brand_id)
    values = {"name": name, "slug": slug, "description": description}
    try:
        data = _brand_in(values)
    except ValidationError as exc:
        return await _edit_page(page, before, status_code=422, errors=form_errors(exc), values=values)
    try:
        async with page.session.begin_nested():
            after = await taxonomy.update_brand(page.session, brand_id, data)
            audit.record(
                page.session,
                page.actor,
                "brand.updated",
                AuditedObject("brand", after.id, after.name),
                diff(_state(before), _state(after)),
            )
    except EmporiumError as exc:
        if exc.status_code not in (404, 409, 422):
            raise
        return await _edit_page(page, before, status_code=exc.status_code, error=exc.message, values=values)
    return page.redirect("/admin/brands", flash=f"Brand “{after.name}” saved.")


@router.post("/{brand_id}/delete", response_model=None)
async def delete_brand(page: BrandsPage, brand_id: IdPath) -> Response:
    brand = await taxonomy.brand(page.session, brand_id)
    try:
        async with page.session.begin_nested():
            await taxonomy.delete_brand(page.session, brand_id)
            audit.record(
                page.session,
                page.actor,
                "brand.deleted",
                AuditedObject("brand", brand.id, brand.name),
                diff(_state(brand), dict.fromkeys(AUDITED)),
            )
    except EmporiumError as exc:
        if exc.status_code != 409:
            raise
        return await _edit_page(page, brand, status_code=409, error=exc.message)
    return page.redirect("/admin/brands", flash=f"Brand “{brand.name}” deleted.")
