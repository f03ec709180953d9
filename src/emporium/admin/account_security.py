"""``/admin/account/security``: a staff member's own two-factor sign-in: set it up, replace the recovery
codes, switch it off. Every staff member may open it (it is also where ``staff_totp_required`` sends them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, Response

from emporium.accounts.two_factor import two_factor
from emporium.admin.page import AdminContext, AdminPage
from emporium.admin.routing import admin_router
from emporium.core.errors import EmporiumError

router = admin_router(prefix="/admin/account/security")

TEMPLATE = "admin/people/security.html.j2"
CODES_TEMPLATE = "admin/people/recovery_codes.html.j2"
TITLE = "Two-factor sign-in"
CodeField = Annotated[str, Form(max_length=64)]


async def _show(page: AdminContext, *, status_code: int = 200, error: str | None = None) -> HTMLResponse:
    staff = page.staff
    enabled = two_factor.is_enabled(staff)
    return await page.render(
        TEMPLATE,
        title=TITLE,
        status_code=status_code,
        breadcrumbs=[("Your account", None), (TITLE, None)],
        enabled=enabled,
        enabled_at=staff.totp_enabled_at,
        codes_left=await two_factor.recovery_codes_left(page.session, staff) if enabled else 0,
        enrolment=two_factor.pending_enrolment(page.ctx, staff),
        required=page.settings.staff_totp_required,
        error=error,
    )


async def _refused(page: AdminContext, exc: EmporiumError) -> HTMLResponse:
    """The page again with the reason (a wrong code, too many codes tried): nothing was changed."""
    response = await _show(page, status_code=exc.status_code, error=exc.message)
    response.headers.update(exc.headers)
    return response


async def _codes(page: AdminContext, codes: list[str]) -> HTMLResponse:
    return await page.render(
        CODES_TEMPLATE,
        title="Your recovery codes",
        breadcrumbs=[(TITLE, "/admin/account/security")],
        codes=codes,
    )


@router.get("", response_class=HTMLResponse, response_model=None)
async def security(page: AdminPage) -> Response:
    return await _show(page)


@router.post("/enrol", response_model=None)
async def enrol(page: AdminPage) -> Response:
    try:
        two_factor.start_enrolment(page.ctx, page.staff)
    except EmporiumError as exc:
        return await _refused(page, exc)
    return page.redirect("/admin/account/security#enrol")


@router.post("/confirm", response_model=None)
async def confirm(page: AdminPage, code: CodeField = "") -> Response:
    try:
        codes = await two_factor.confirm_enrolment(page.session, page.ctx, page.staff, code, page.actor)
    except EmporiumError as exc:
        return await _refused(page, exc)
    return await _codes(page, codes)


@router.post("/recovery-codes", response_model=None)
async def new_recovery_codes(page: AdminPage, code: CodeField = "") -> Response:
    try:
        codes = await two_factor.new_recovery_codes(page.session, page.ctx, page.staff, code, page.actor)
    except EmporiumError as exc:
        return await _refused(page, exc)
    return await _codes(page, codes)


@router.post("/disable", response_model=None)
async def disable(page: AdminPage, code: CodeField = "") -> Response:
    try:
        await two_factor.disable(page.session, page.ctx, page.staff, code, page.actor)
    except EmporiumError as exc:
        return await _refused(page, exc)
    return page.redirect("/admin/account/security", flash="Two-factor sign-in is off.")
