"""``/admin/settings``: the store's profile (name, legal name, address, tax id, contact e-mail, time zone,
how amounts are written) and ``/admin/settings/payments``: which payment methods checkout offers.

What is saved here is laid over the environment's settings for every request (store/profile.py); a blank
field goes back to the environment's value. Secrets (gateway keys) stay in the environment. Everything here
needs ``settings:manage``; every change is in the audit log.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, Response
from pydantic import StringConstraints, ValidationError

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.admin.settings_forms import form_errors
from emporium.audit.service import audit
from emporium.core.config import Settings
from emporium.core.errors import EmporiumError
from emporium.core.money import display_money
from emporium.core.permissions import Permission
from emporium.payments import offering
from emporium.store.schemas import MAX_ADDRESS_LINES, StoreSettingsIn
from emporium.store.service import store_settings

router = admin_router(prefix="/admin/settings")

MethodNames = Annotated[
    list[Annotated[str, StringConstraints(max_length=40)]],
    Form(alias="method", max_length=20, default_factory=list),
]

SettingsPage = Annotated[AdminContext, AdminWith(Permission.SETTINGS_MANAGE)]
FIELD_TEXT = 400
ADDRESS_TEXT = 2_000
MODE_LABELS = {
    "test": "Test mode: no real money",
    "live": "Live: takes real money",
    "offline": "Offline: paid outside the shop",
    "node": "Network of the node (mainnet, testnet or regtest)",
}
EXAMPLE_AMOUNT = Decimal("1234.50")


def _values(data: StoreSettingsIn) -> dict[str, str]:
    values = {name: "" if value is None else str(value) for name, value in data.model_dump().items()}
    values["address"] = "\n".join(data.address or [])
    return values


async def _form(
    page: AdminContext,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    # The defaults are the environment's: the app's settings, not the request's (which carry what is stored).
    environment: Settings = page.request.app.state.settings
    stored = await store_settings.stored(page.session, environment)
    defaults = stored.defaults
    settings = page.settings
    example = {
        style: display_money(EXAMPLE_AMOUNT, settings.currency, settings.locale, style)
        for style in ("symbol", "code")
    }
    return await page.render(
        "admin/settings/store.html.j2",
        title="Settings",
        status_code=status_code,
        breadcrumbs=[("Settings", None)],
        tab="store",
        values=values if values is not None else _values(stored.stored),
        errors=errors or {},
        defaults=defaults,
        example=example,
        currency=settings.currency,
        max_address_lines=MAX_ADDRESS_LINES,
        history=await audit.for_object(page.session, "store", 1, limit=10),
    )


@router.get("", response_class=HTMLResponse, response_model=None)
async def settings_form(page: SettingsPage) -> Response:
    return await _form(page)


@router.post("", response_model=None)
async def save_settings(
    page: SettingsPage,
    name: Annotated[str, Form(max_length=FIELD_TEXT)] = "",
    legal_name: Annotated[str, Form(max_length=FIELD_TEXT)] = "",
    address: Annotated[str, Form(max_length=ADDRESS_TEXT)] = "",
    tax_id: Annotated[str, Form(max_length=FIELD_TEXT)] = "",
    tax_id_label: Annotated[str, Form(max_length=FIELD_TEXT)] = "",
    contact_email: Annotated[str, Form(max_length=FIELD_TEXT)] = "",
    timezone: Annotated[str, Form(max_length=FIELD_TEXT)] = "",
    currency_display: Annotated[str, Form(max_length=FIELD_TEXT)] = "",
) -> Response:
    values = {
        "name": name,
        "legal_name": legal_name,
        "address": address,
        "tax_id": tax_id,
        "tax_id_label": tax_id_label,
        "contact_email": contact_email,
        "timezone": timezone,
        "currency_display": currency_display,
    }
    try:
        data = StoreSettingsIn.model_validate(values)
    except ValidationError as exc:
        errors = form_errors(exc)
        return await _form(page, values=values, errors=errors, status_code=422)
    changed = await store_settings.save(page.session, page.actor, data)
    flash = "Settings saved." if changed else "Nothing changed."
    return page.redirect("/admin/settings", flash=flash, flash_kind="success" if changed else "info")


async def _payments(page: AdminContext, error: str | None = None, status_code: int = 200) -> Response:
    return await page.render(
        "admin/settings/payments.html.j2",
        title="Payment methods",
        status_code=status_code,
        breadcrumbs=[("Settings", "/admin/settings"), ("Payment methods", None)],
        tab="payments",
        methods=offering.methods(page.settings),
        mode_labels=MODE_LABELS,
        production=page.settings.env == "production",
        error=error,
    )


@router.get("/payments", response_class=HTMLResponse, response_model=None)
async def payments_form(page: SettingsPage) -> Response:
    return await _payments(page)


@router.post("/payments", response_model=None)
async def save_payments(
    page: SettingsPage,
    methods: MethodNames,
) -> Response:
    try:
        changed = await offering.offer(page.session, page.settings, page.actor, methods)
    except EmporiumError as exc:
        return await _payments(page, error=exc.message, status_code=exc.status_code)
    flash = "Checkout now offers the methods switched on." if changed else "Nothing changed."
    return page.redirect("/admin/settings/payments", flash=flash, flash_kind="success" if changed else "info")
