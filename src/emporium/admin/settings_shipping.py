"""``/admin/settings/shipping``: shipping zones (the countries served together) and each zone's methods.

The screens call the pricing domain's staff service (pricing/admin.py) with the API's schemas, so a form
refuses what the API refuses; checkout quotes read the same tables. A method can be switched off (checkout
stops offering it, orders keep its name) or removed. Everything needs ``settings:manage`` and is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.admin.settings_forms import FormErrors, Text, form_errors, read_fields, refused, removed
from emporium.audit.schemas import AuditedObject
from emporium.audit.service import audit, diff
from emporium.core.errors import EmporiumError
from emporium.core.params import IdPath
from emporium.core.permissions import Permission
from emporium.pricing import schemas
from emporium.pricing.admin import method_read, pricing_admin

router = admin_router(prefix="/admin/settings/shipping")
SHIPPING = "/admin/settings/shipping"

SettingsPage = Annotated[AdminContext, AdminWith(Permission.SETTINGS_MANAGE)]
KIND_LABELS = {
    "flat_rate": "Flat rate",
    "free_above": "Free above an order value",
    "by_weight": "By weight",
    "pickup": "Pick-up",
}
ZONE_FIELDS = ("name", "countries")
METHOD_FIELDS = ("name", "kind", "price", "free_above", "per_kg", "position", "is_active")


def _countries(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _zone_in(values: dict[str, str]) -> schemas.ZoneIn:
    return schemas.ZoneIn.model_validate(
        {"name": values["name"], "countries": _countries(values["countries"])}
    )


def _method_in(values: dict[str, str], details: dict[str, Any]) -> schemas.MethodIn:
    def amount(name: str) -> str | None:
        return values[name].strip() or None

    return schemas.MethodIn.model_validate(
        {
            "name": values["name"],
            "kind": values["kind"],
            "price": amount("price") or "0",
            "free_above": amount("free_above"),
            "per_kg": amount("per_kg"),
            "position": int(values["position"]) if values["position"].strip().isdigit() else -1,
            "is_active": values["is_active"] == "on",
            "details": details,
        }
    )


def _method_values(method: schemas.MethodRead | None = None) -> dict[str, str]:
    if method is None:
        return {
            "name": "",
            "kind": "flat_rate",
            "price": "",
            "free_above": "",
            "per_kg": "",
            "position": "0",
            "is_active": "on",
        }
    return {
        "name": method.name,
        "kind": method.kind.value,
        "price": str(method.price),
        "free_above": "" if method.free_above is None else str(method.free_above),
        "per_kg": "" if method.per_kg is None else str(method.per_kg),
        "position": str(method.position),
        "is_active": "on" if method.is_active else "",
    }


async def _overview(
    page: AdminContext,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    currency = page.settings.currency
    zones = [
        (zone, [method_read(m, currency) for m in methods])
        for zone, methods in await pricing_admin.zones(page.session)
    ]
    return await page.render(
        "admin/settings/shipping.html.j2",
        title="Shipping",
        status_code=status_code,
        breadcrumbs=[("Settings", "/admin/settings"), ("Shipping", None)],
        tab="shipping",
        zones=zones,
        kind_labels=KIND_LABELS,
        currency=currency,
        values=values or {"name": "", "countries": ""},
        errors=errors or {},
    )


async def _zone_page(
    page: AdminContext,
    zone_id: int,
    *,
    zone_values: dict[str, str] | None = None,
    method_values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    zone = await pricing_admin.zone(page.session, zone_id)
    currency = page.settings.currency
    methods = next((ms for z, ms in await pricing_admin.zones(page.session) if z.id == zone.id), [])
    return await page.render(
        "admin/settings/zone.html.j2",
        title=f"Shipping zone {zone.name}",
        status_code=status_code,
        breadcrumbs=[("Settings", "/admin/settings"), ("Shipping", SHIPPING), (zone.name, None)],
        tab="shipping",
        zone=zone,
        methods=[method_read(m, currency) for m in methods],
        kind_labels=KIND_LABELS,
        currency=currency,
        zone_values=zone_values or {"name": zone.name, "countries": ", ".join(zone.countries or [])},
        method_values=method_values or _method_values(),
        errors=errors or {},
    )


@router.get("", response_class=HTMLResponse, response_model=None)
async def shipping(page: SettingsPage) -> Response:
    return await _overview(page)


@router.post("/zones", response_model=None)
async def create_zone(page: SettingsPage, name: Text = "", countries: Text = "") -> Response:
    values = {"name": name, "countries": countries}
    try:
        async with page.session.begin_nested():
            zone = await pricing_admin.save_zone(page.session, _zone_in(values))
    except ValidationError as exc:
        return await _overview(page, values, form_errors(exc), 422)
    except EmporiumError as exc:
        return await _overview(page, values, refused(exc), exc.status_code)
    after = {"name": zone.name, "countries": ", ".join(zone.countries)}
    audit.record(
        page.session,
        page.actor,
        "shipping_zone.created",
        AuditedObject("shipping_zone", zone.id, zone.name),
        diff({}, after),
    )
    return page.redirect(f"{SHIPPING}/zones/{zone.id}", flash=f"Zone {zone.name} added: now add its methods.")


@router.get("/zones/{zone_id}", response_class=HTMLResponse, response_model=None)
async def zone_page(page: SettingsPage, zone_id: IdPath) -> Response:
    return await _zone_page(page, zone_id)


@router.post("/zones/{zone_id}", response_model=None)
async def update_zone(page: SettingsPage, zone_id: IdPath, name: Text = "", countries: Text = "") -> Response:
    values = {"name": name, "countries": countries}
    zone = await pricing_admin.zone(page.session, zone_id)
    before = {"name": zone.name, "countries": ", ".join(zone.countries or [])}
    try:
        async with page.session.begin_nested():
            zone = await pricing_admin.save_zone(page.session, _zone_in(values), zone_id)
    except ValidationError as exc:
        return await _zone_page(page, zone_id, zone_values=values, errors=form_errors(exc), status_code=422)
    except EmporiumError as exc:
        return await _zone_page(
            page, zone_id, zone_values=values, errors=refused(exc), status_code=exc.status_code
        )
    changes = diff(before, {"name": zone.name, "countries": ", ".join(zone.countries)})
    if changes:
        audit.record(
            page.session,
            page.actor,
            "shipping_zone.updated",
            AuditedObject("shipping_zone", zone.id, zone.name),
            changes,
        )
    return page.redirect(
        f"{SHIPPING}/zones/{zone.id}", flash="Zone saved." if changes else "Nothing changed."
    )


@router.post("/zones/{zone_id}/delete", response_model=None)
async def delete_zone(page: SettingsPage, zone_id: IdPath) -> Response:
    zone = await pricing_admin.zone(page.session, zone_id)
    before = {"name": zone.name, "countries": ", ".join(zone.countries or [])}
    await pricing_admin.delete_zone(page.session, zone_id)
    audit.record(
        page.session,
        page.actor,
        "shipping_zone.deleted",
        AuditedObject("shipping_zone", zone_id, before["name"]),
        removed(before),
    )
    return page.redirect(SHIPPING, flash=f"Zone {before['name']} and its methods removed.")


def method_form(
    name: Text = "",
    kind: Text = "",
    price: Text = "",
    free_above: Text = "",
    per_kg: Text = "",
    position: Text = "0",
    is_active: Text = "",
) -> dict[str, str]:
    """A shipping method's form as typed: adding a method and editing one read the same fields."""
    return {
        "name": name,
        "kind": kind,
        "price": price,
        "free_above": free_above,
        "per_kg": per_kg,
        "position": position,
        "is_active": is_active,
    }


MethodForm = Annotated[dict[str, str], Depends(method_form)]


@router.post("/zones/{zone_id}/methods", response_model=None)
async def create_method(
    page: SettingsPage,
    zone_id: IdPath,
    values: MethodForm,
) -> Response:
    await pricing_admin.zone(page.session, zone_id)
    try:
        async with page.session.begin_nested():
            method = await pricing_admin.save_method(
                page.session, page.settings, _method_in(values, {}), zone_id=zone_id
            )
    except ValidationError as exc:
        return await _zone_page(page, zone_id, method_values=values, errors=form_errors(exc), status_code=422)
    except EmporiumError as exc:
        return await _zone_page(
            page, zone_id, method_values=values, errors=refused(exc), status_code=exc.status_code
        )
    read = method_read(method, page.settings.currency)
    audit.record(
        page.session,
        page.actor,
        "shipping_method.created",
        AuditedObject("shipping_method", method.id, method.name),
        diff({}, read_fields(read)),
    )
    return page.redirect(f"{SHIPPING}/zones/{zone_id}", flash=f"Method {method.name} added.")


async def _method_page(
    page: AdminContext,
    method_id: int,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    method = method_read(await pricing_admin.method(page.session, method_id), page.settings.currency)
    zone = await pricing_admin.zone(page.session, method.zone_id)
    return await page.render(
        "admin/settings/method.html.j2",
        title=f"Shipping method {method.name}",
        status_code=status_code,
        breadcrumbs=[
            ("Settings", "/admin/settings"),
            ("Shipping", SHIPPING),
            (zone.name, f"{SHIPPING}/zones/{zone.id}"),
            (method.name, None),
        ],
        tab="shipping",
        method=method,
        zone=zone,
        kind_labels=KIND_LABELS,
        currency=page.settings.currency,
        values=values or _method_values(method),
        errors=errors or {},
    )


@router.get("/methods/{method_id}", response_class=HTMLResponse, response_model=None)
async def method_page(page: SettingsPage, method_id: IdPath) -> Response:
    return await _method_page(page, method_id)


@router.post("/methods/{method_id}", response_model=None)
async def update_method(
    page: SettingsPage,
    method_id: IdPath,
    values: MethodForm,
) -> Response:
    currency = page.settings.currency
    before = method_read(await pricing_admin.method(page.session, method_id), currency)
    try:
        data = _method_in(values, before.details)
        async with page.session.begin_nested():
            method = await pricing_admin.save_method(page.session, page.settings, data, method_id=method_id)
    except ValidationError as exc:
        return await _method_page(page, method_id, values, form_errors(exc), 422)
    except EmporiumError as exc:
        return await _method_page(page, method_id, values, refused(exc), exc.status_code)
    changes = diff(read_fields(before), read_fields(method_read(method, currency)))
    if changes:
        audit.record(
            page.session,
            page.actor,
            "shipping_method.updated",
            AuditedObject("shipping_method", method.id, method.name),
            changes,
        )
    return page.redirect(
        f"{SHIPPING}/zones/{method.zone_id}",
        flash=f"Method {method.name} saved." if changes else "Nothing changed.",
    )


@router.post("/methods/{method_id}/active", response_model=None)
async def switch_method(
    page: SettingsPage, method_id: IdPath, active: Annotated[bool, Form()] = False
) -> Response:
    currency = page.settings.currency
    before = method_read(await pricing_admin.method(page.session, method_id), currency)
    data = schemas.MethodIn.model_validate(
        {**before.model_dump(exclude={"id", "zone_id"}), "is_active": active}
    )
    method = await pricing_admin.save_method(page.session, page.settings, data, method_id=method_id)
    if before.is_active != active:
        audit.record(
            page.session,
            page.actor,
            "shipping_method.updated",
            AuditedObject("shipping_method", method.id, method.name),
            {"is_active": (before.is_active, active)},
        )
    state = "offered at checkout again" if active else "switched off: checkout no longer offers it"
    return page.redirect(f"{SHIPPING}/zones/{method.zone_id}", flash=f"Method {method.name} {state}.")


@router.post("/methods/{method_id}/delete", response_model=None)
async def delete_method(page: SettingsPage, method_id: IdPath) -> Response:
    before = method_read(await pricing_admin.method(page.session, method_id), page.settings.currency)
    await pricing_admin.delete_method(page.session, method_id)
    audit.record(
        page.session,
        page.actor,
        "shipping_method.deleted",
        AuditedObject("shipping_method", method_id, before.name),
        removed(read_fields(before)),
    )
    return page.redirect(f"{SHIPPING}/zones/{before.zone_id}", flash=f"Method {before.name} removed.")
