"""``/admin/settings/taxes``: the tax rates checkout charges, by country and region.

The screens call the pricing domain's staff service (pricing/admin.py) with the API's own schemas, so a form
refuses what the API refuses; checkout quotes read the same tables, so a change shows in the next quote.
Everything here needs ``settings:manage``; every change is in the audit log with its old and new values.
"""

from __future__ import annotations

from typing import Annotated

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
from emporium.core.places import country_name
from emporium.pricing import schemas
from emporium.pricing.admin import pricing_admin, tax_read

router = admin_router(prefix="/admin/settings")

SettingsPage = Annotated[AdminContext, AdminWith(Permission.SETTINGS_MANAGE)]
TAXES = "/admin/settings/taxes"


async def _taxes(
    page: AdminContext,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    rates = [tax_read(rate) for rate in await pricing_admin.tax_rates(page.session)]
    locale = page.settings.locale
    return await page.render(
        "admin/settings/taxes.html.j2",
        title="Tax rates",
        status_code=status_code,
        breadcrumbs=[("Settings", "/admin/settings"), ("Tax rates", None)],
        tab="taxes",
        rates=[(rate, country_name(rate.country, locale)) for rate in rates],
        values=values or {"country": "", "region": "", "name": "", "rate": ""},
        errors=errors or {},
        prices_include_tax=page.settings.prices_include_tax,
    )


async def _tax_page(
    page: AdminContext,
    rate_id: int,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    read = tax_read(await pricing_admin.tax_rate(page.session, rate_id))
    shown = values or {
        "country": read.country,
        "region": read.region,
        "name": read.name,
        "rate": str(read.rate),
    }
    return await page.render(
        "admin/settings/tax_edit.html.j2",
        title=f"Tax rate {read.name}",
        status_code=status_code,
        breadcrumbs=[("Settings", "/admin/settings"), ("Tax rates", TAXES), (read.name, None)],
        tab="taxes",
        rate=read,
        values=shown,
        errors=errors or {},
    )


def _tax_values(country: str, region: str, name: str, rate: str) -> dict[str, str]:
    return {"country": country, "region": region, "name": name, "rate": rate}


def _tax_in(values: dict[str, str]) -> schemas.TaxRateIn:
    return schemas.TaxRateIn.model_validate({**values, "rate": values["rate"].strip().rstrip("%").strip()})


@router.get("/taxes", response_class=HTMLResponse, response_model=None)
async def taxes(page: SettingsPage) -> Response:
    return await _taxes(page)


@router.post("/taxes", response_model=None)
async def create_tax(
    page: SettingsPage, country: Text = "", region: Text = "", name: Text = "", rate: Text = ""
) -> Response:
    values = _tax_values(country, region, name, rate)
    try:
        async with page.session.begin_nested():
            saved = await pricing_admin.save_tax_rate(page.session, _tax_in(values))
    except ValidationError as exc:
        return await _taxes(page, values, form_errors(exc), 422)
    except EmporiumError as exc:
        return await _taxes(page, values, refused(exc), exc.status_code)
    read = tax_read(saved)
    audit.record(
        page.session,
        page.actor,
        "tax_rate.created",
        AuditedObject("tax_rate", saved.id, read.name),
        diff({}, read_fields(read)),
    )
    return page.redirect(TAXES, flash=f"Tax rate {read.name} ({read.rate} %) added.")


@router.get("/taxes/{rate_id}", response_class=HTMLResponse, response_model=None)
async def tax_page(page: SettingsPage, rate_id: IdPath) -> Response:
    return await _tax_page(page, rate_id)


@router.post("/taxes/{rate_id}", response_model=None)
async def update_tax(
    page: SettingsPage,
    rate_id: IdPath,
    country: Text = "",
    region: Text = "",
    name: Text = "",
    rate: Text = "",
) -> Response:
    values = _tax_values(country, region, name, rate)
    before = read_fields(tax_read(await pricing_admin.tax_rate(page.session, rate_id)))
    try:
        async with page.session.begin_nested():
            saved = await pricing_admin.save_tax_rate(page.session, _tax_in(values), rate_id)
    except ValidationError as exc:
        return await _tax_page(page, rate_id, values, form_errors(exc), 422)
    except EmporiumError as exc:
        return await _tax_page(page, rate_id, values, refused(exc), exc.status_code)
    after = tax_read(saved)
    changes = diff(before, read_fields(after))
    if changes:
        audit.record(
            page.session,
            page.actor,
            "tax_rate.updated",
            AuditedObject("tax_rate", saved.id, after.name),
            changes,
        )
    return page.redirect(TAXES, flash=f"Tax rate {after.name} saved." if changes else "Nothing changed.")


@router.post("/taxes/{rate_id}/delete", response_model=None)
async def delete_tax(page: SettingsPage, rate_id: IdPath) -> Response:
    before = tax_read(await pricing_admin.tax_rate(page.session, rate_id))
    await pricing_admin.delete_tax_rate(page.session, rate_id)
    audit.record(
        page.session,
        page.actor,
        "tax_rate.deleted",
        AuditedObject("tax_rate", rate_id, before.name),
        removed(read_fields(before)),
    )
    return page.redirect(TAXES, flash=f"Tax rate {before.name} removed.")
