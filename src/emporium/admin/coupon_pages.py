"""``/admin/coupons``: the coupons (search by code or description, filter by kind and state, keyset
pages), a coupon's page (its terms, the orders that used it and their revenue net of refunds), the form
that creates and edits every kind pricing supports, and switching a coupon off or on again.

Everything needs ``coupons:write``. A refused form is shown again with a sentence per field and a 4xx; it
changes nothing. Every change is audited with the fields before and after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

from fastapi import Query
from fastapi.responses import HTMLResponse, Response

from emporium.admin.coupon_form import KIND_NAMES, CouponForm, blank_form, form_of, read_form
from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.params import CursorParam, OptionalText
from emporium.admin.routing import admin_router
from emporium.audit.schemas import AuditedObject
from emporium.audit.service import audit
from emporium.audit.service import diff as audit_diff
from emporium.core.errors import EmporiumError
from emporium.core.params import IdPath
from emporium.core.permissions import Permission
from emporium.payments.coupon_usage import coupon_usage
from emporium.pricing.admin import coupon_read, pricing_admin
from emporium.pricing.schemas import CouponIn
from emporium.web.account_pages import refusal_errors

if TYPE_CHECKING:
    from emporium.pricing.models import Coupon

router = admin_router(prefix="/admin/coupons")

CouponsPage = Annotated[AdminContext, AdminWith(Permission.COUPONS_WRITE)]
PAGE_SIZE = 50
USAGE_SIZE = 25
STATES = {"active": "Active now", "scheduled": "Not started", "expired": "Ended", "inactive": "Switched off"}
KindParam = Annotated[str, Query(max_length=20, pattern=r"^(percentage|fixed_amount|free_shipping)?$")]
StateParam = Annotated[str, Query(max_length=10, pattern=r"^(active|scheduled|expired|inactive)?$")]


def _coupon_url(coupon_id: int) -> str:
    return f"/admin/coupons/{coupon_id}"


def _audited(code: str, coupon_id: int) -> AuditedObject:
    return AuditedObject(type="coupon", id=coupon_id, label=code)


def _terms(page: AdminContext, coupon: Coupon) -> dict[str, object]:
    """The coupon's fields as audited: the API's reading of it."""
    read = coupon_read(coupon, page.settings.currency).model_dump(exclude={"id", "created_at", "used_count"})
    return dict(read)


@router.get("", response_class=HTMLResponse, response_model=None)
async def coupon_list(
    page: CouponsPage,
    q: OptionalText = "",
    kind: KindParam = "",
    state: StateParam = "",
    after: CursorParam = "",
) -> Response:
    query = q.strip()
    found = await pricing_admin.coupon_page(
        page.session, query=query, kind=kind, state=state, after=after or None, limit=PAGE_SIZE
    )
    params = {k: v for k, v in {"q": query, "kind": kind, "state": state}.items() if v}
    return await page.render(
        "admin/coupons/list.html.j2",
        title="Coupons",
        breadcrumbs=[("Coupons", None)],
        rows=[coupon_read(coupon, page.settings.currency) for coupon in found.rows],
        next_cursor=found.next_cursor,
        params=params,
        filtered=bool(params),
        currency=page.settings.currency,
        kinds=KIND_NAMES,
        states=STATES,
        zone=ZoneInfo(page.settings.timezone),
    )


async def _form_page(
    page: AdminContext, form: CouponForm, *, coupon_id: int | None = None, status_code: int = 200
) -> HTMLResponse:
    title = "New coupon" if coupon_id is None else f"Edit {form.values.get('code', '')}"
    crumbs: list[tuple[str, str | None]] = [("Coupons", "/admin/coupons")]
    if coupon_id is not None:
        crumbs.append((form.values.get("code", ""), _coupon_url(coupon_id)))
    crumbs.append(("New" if coupon_id is None else "Edit", None))
    return await page.render(
        "admin/coupons/form.html.j2",
        title=title,
        status_code=status_code,
        breadcrumbs=crumbs,
        form=form,
        coupon_id=coupon_id,
        kinds=KIND_NAMES,
        categories=await pricing_admin.category_choices(page.session),
        time_zone=page.settings.timezone,
    )


async def _submitted(page: AdminContext) -> tuple[CouponForm, CouponIn | None]:
    form, data = read_form(await page.request.form(), page.settings.currency, page.settings.timezone)
    if data is not None:
        try:
            await pricing_admin.check_restrictions(page.session, data.product_ids, data.category_ids)
        except EmporiumError as exc:
            form.errors.update(refusal_errors(exc))
            return form, None
    return form, data


@router.get("/new", response_class=HTMLResponse, response_model=None)
async def new_coupon(page: CouponsPage) -> Response:
    return await _form_page(page, blank_form())


@router.post("/new", response_model=None)
async def create_coupon(page: CouponsPage) -> Response:
    form, data = await _submitted(page)
    if data is None:
        return await _form_page(page, form, status_code=422)
    try:
        async with page.session.begin_nested():
            coupon = await pricing_admin.create_coupon(page.session, page.settings, data)
            audit.record(
                page.session,
                page.actor,
                "coupon.created",
                _audited(coupon.code, coupon.id),
                {name: (None, value) for name, value in _terms(page, coupon).items()},
            )
    except EmporiumError as exc:
        form.errors.update(refusal_errors(exc, "code"))
        form.errors.setdefault("form", f"{exc.message} Nothing was saved.")
        return await _form_page(page, form, status_code=exc.status_code)
    return page.redirect(_coupon_url(coupon.id), flash=f"Coupon {coupon.code} created.")


@router.get("/{coupon_id}", response_class=HTMLResponse, response_model=None)
async def coupon_page(page: CouponsPage, coupon_id: IdPath, before: CursorParam = "") -> Response:
    coupon = await pricing_admin.coupon(page.session, coupon_id)
    usage = await coupon_usage.orders(page.session, coupon.id, before=before or None, limit=USAGE_SIZE)
    return await page.render(
        "admin/coupons/coupon.html.j2",
        title=coupon.code,
        breadcrumbs=[("Coupons", "/admin/coupons"), (coupon.code, None)],
        coupon=coupon_read(coupon, page.settings.currency),
        currency=page.settings.currency,
        kinds=KIND_NAMES,
        products=await pricing_admin.product_names(page.session, coupon.product_ids or []),
        categories={c.id: c.name for c in await pricing_admin.category_choices(page.session)},
        revenue=await coupon_usage.revenue(page.session, coupon.id),
        orders=usage.rows,
        next_cursor=usage.next_cursor,
        zone=ZoneInfo(page.settings.timezone),
        history=await audit.for_object(page.session, "coupon", coupon.id, limit=20),
    )


@router.get("/{coupon_id}/edit", response_class=HTMLResponse, response_model=None)
async def edit_coupon(page: CouponsPage, coupon_id: IdPath) -> Response:
    coupon = await pricing_admin.coupon(page.session, coupon_id)
    return await _form_page(
        page, form_of(coupon, page.settings.currency, page.settings.timezone), coupon_id=coupon.id
    )


@router.post("/{coupon_id}/edit", response_model=None)
async def update_coupon(page: CouponsPage, coupon_id: IdPath) -> Response:
    coupon = await pricing_admin.coupon(page.session, coupon_id)
    before = _terms(page, coupon)
    form, data = await _submitted(page)
    if data is None:
        return await _form_page(page, form, coupon_id=coupon.id, status_code=422)
    try:
        async with page.session.begin_nested():
            changed = await pricing_admin.update_coupon(page.session, page.settings, coupon.id, data)
            changes = audit_diff(before, _terms(page, changed))
            if changes:
                audit.record(
                    page.session, page.actor, "coupon.updated", _audited(changed.code, changed.id), changes
                )
    except EmporiumError as exc:
        await page.session.refresh(coupon)
        form.errors.update(refusal_errors(exc, "code"))
        form.errors.setdefault("form", f"{exc.message} Nothing was saved.")
        return await _form_page(page, form, coupon_id=coupon.id, status_code=exc.status_code)
    message = f"Coupon {changed.code} saved." if changes else "Nothing changed."
    return page.redirect(_coupon_url(coupon.id), flash=message, flash_kind="success" if changes else "info")


async def _switch(page: AdminContext, coupon_id: int, active: bool) -> Response:
    async with page.session.begin_nested():
        coupon, was = await pricing_admin.set_active(page.session, coupon_id, active)
        if was != active:
            audit.record(
                page.session,
                page.actor,
                "coupon.activated" if active else "coupon.deactivated",
                _audited(coupon.code, coupon.id),
                {"is_active": (was, active)},
            )
    if active:
        message = f"Coupon {coupon.code} can be used again."
    else:
        message = f"Coupon {coupon.code} is switched off; orders that used it keep their discount."
    return page.redirect(_coupon_url(coupon.id), flash=message)


@router.post("/{coupon_id}/deactivate", response_model=None)
async def deactivate(page: CouponsPage, coupon_id: IdPath) -> Response:
    return await _switch(page, coupon_id, False)


@router.post("/{coupon_id}/activate", response_model=None)
async def activate(page: CouponsPage, coupon_id: IdPath) -> Response:
    return await _switch(page, coupon_id, True)
