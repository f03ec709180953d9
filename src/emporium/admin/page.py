"""Rendering a back-office page: ``page: Annotated[AdminContext, AdminWith(Permission.X)]`` in a route, then
``await page.render(...)``.

``AdminWith`` is the door of every screen: no live staff session sends the visitor to the sign-in page; a
role without the permission gets the 403 page. Actions inside a screen ask again (``page.require``), and
templates hide what the role may not do with ``can('refunds:create')``: a button that is not shown is also
refused when forged.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.staff_access import staff_access
from emporium.accounts.two_factor import needs_enrolment
from emporium.admin.errors import AdminError
from emporium.admin.flash import Flash, FlashKind, clear_flash, read_flash, set_flash
from emporium.admin.navigation import SECTIONS, Section
from emporium.admin.session import drop_cookie, read_cookie
from emporium.audit.schemas import Actor
from emporium.core.config import Settings
from emporium.core.context import AppContext, Ctx
from emporium.core.errors import EmporiumError, Forbidden
from emporium.core.logging import bind_user
from emporium.core.permissions import Permission, has_permission
from emporium.core.session import DbSession
from emporium.web.browser import Browser
from emporium.web.page import NO_STORE, html_response
from emporium.web.security import safe_next
from emporium.web.templating import environment

if TYPE_CHECKING:
    from emporium.accounts.models import User

Breadcrumbs = list[tuple[str, str | None]]
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain negative number (a refund larger than the day's sales) is no formula and stays a number.
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class StaffSignInRequired(EmporiumError):
    """Raised by the door when there is no live staff session; the admin route answers with a redirect to
    the sign-in page (routing.py), dropping a cookie that no longer opens anything."""

    status_code = 401
    code = AdminError.SIGN_IN_REQUIRED
    message = "Sign in to the back office."

    def __init__(self, next_url: str, *, drop: bool) -> None:
        super().__init__()
        self.next_url = next_url
        self.drop = drop


class TwoFactorEnrolmentRequired(EmporiumError):
    """The shop requires two-factor sign-in (``staff_totp_required``) and this staff member has not set it
    up: every screen but the set-up page sends them there (routing.py)."""

    status_code = 403
    code = AdminError.TWO_FACTOR_REQUIRED
    message = "Set up two-factor sign-in before you continue."


SECURITY_PAGE = "/admin/account/security"


class PermissionDenied(Forbidden):
    code = AdminError.PERMISSION_DENIED
    message = "Your role does not allow this. Ask a super admin if you need it."


@dataclass
class AdminContext:
    request: Request
    ctx: AppContext
    session: AsyncSession
    browser: Browser
    staff: User

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def csrf_token(self) -> str:
        return self.browser.csrf_token

    @property
    def actor(self) -> Actor:
        client = self.request.client
        return Actor(
            user_id=self.staff.id, email=self.staff.email, ip_address=client.host if client else None
        )

    def can(self, permission: Permission | str) -> bool:
        try:
            return has_permission(self.staff.role, Permission(permission))
        except ValueError:
            return False

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDenied()

    def sections(self) -> list[Section]:
        return [s for s in SECTIONS if s.permission is None or self.can(s.permission)]

    def _layout(self, title: str, breadcrumbs: Breadcrumbs, flash: Flash | None) -> dict[str, Any]:
        settings = self.settings
        return {
            "shop_name": settings.shop_name,
            "shop_currency": settings.currency,
            "lang": settings.locale.replace("_", "-"),
            "title": title,
            "breadcrumbs": breadcrumbs,
            "flash": flash,
            "staff": self.staff,
            "sections": self.sections(),
            "current_path": self.request.url.path,
            "csrf_token": self.csrf_token,
            "can": self.can,
        }

    async def render(
        self,
        template: str,
        *,
        title: str,
        status_code: int = 200,
        breadcrumbs: Breadcrumbs | None = None,
        **context: Any,
    ) -> HTMLResponse:
        values = self._layout(title, breadcrumbs or [], read_flash(self.settings, self.request))
        values.update(context)
        return _respond(self.request, self.browser, template, values, status_code, shows_flash=True)

    async def fragment(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        values = self._layout("", [], None)
        values.update(context)
        return _respond(self.request, self.browser, template, values, status_code, shows_flash=False)

    def redirect(self, url: str, *, flash: str | None = None, flash_kind: FlashKind = "success") -> Response:
        """303 See Other to a back-office path; ``flash`` is shown once on the page it leads to."""
        response = see_other(safe_next(url))
        if flash:
            set_flash(self.settings, response, Flash(kind=flash_kind, message=flash))
        self.browser.apply(response)
        return response

    def csv(self, filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
        """A CSV download. Cells that a spreadsheet would run as a formula get a leading apostrophe."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow([neutralise_cell(value) for value in row])
        return Response(
            out.getvalue().encode(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
                "Cache-Control": NO_STORE,
                "X-Content-Type-Options": "nosniff",
            },
        )


def see_other(url: str) -> Response:
    """303 See Other, never cached: after a form post the browser follows with a GET."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": NO_STORE})


def neutralise_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if PLAIN_NUMBER.fullmatch(text):
        return text
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def admin_context(request: Request, ctx: Ctx, session: DbSession) -> AdminContext:
    """The signed-in staff member's page context, or a redirect to the sign-in page."""
    settings = ctx.settings
    cookie = read_cookie(settings, request)
    if cookie is None or cookie.pending:
        raise StaffSignInRequired(_here(request), drop=cookie is None and bool(request.cookies))
    staff = await staff_access.staff_for_session(
        session, cookie.user_id, cookie.session_id, idle_minutes=settings.staff_idle_minutes
    )
    if staff is None:
        raise StaffSignInRequired(_here(request), drop=True)
    bind_user(staff.id)
    path = request.url.path
    if needs_enrolment(settings, staff) and not (
        path == SECURITY_PAGE or path.startswith(SECURITY_PAGE + "/")
    ):
        raise TwoFactorEnrolmentRequired()
    return AdminContext(request=request, ctx=ctx, session=session, browser=Browser.of(request), staff=staff)


def AdminWith(permission: Permission | None = None) -> Any:
    """The door of a screen: a signed-in staff member whose role grants ``permission`` (any staff
    member when None)."""

    async def door(page: Annotated[AdminContext, Depends(admin_context)]) -> AdminContext:
        if permission is not None:
            page.require(permission)
        return page

    return Depends(door)


def sign_in_redirect(settings: Settings, exc: StaffSignInRequired) -> Response:
    response = see_other(f"/admin/sign-in?next={quote(safe_next(exc.next_url), safe='/')}")
    if exc.drop:
        drop_cookie(settings, response)
    return response


AdminPage = Annotated[AdminContext, AdminWith()]


def render_public(
    request: Request, settings: Settings, template: str, *, title: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A back-office page for someone not signed in (the sign-in and invitation pages): no sidebar."""
    browser = Browser.of(request)
    values: dict[str, Any] = {
        "shop_name": settings.shop_name,
        "lang": settings.locale.replace("_", "-"),
        "title": title,
        "csrf_token": browser.csrf_token,
        "flash": read_flash(settings, request),
    }
    values.update(context)
    return _respond(request, browser, template, values, status_code, shows_flash=True)


def _respond(
    request: Request,
    browser: Browser,
    template: str,
    values: dict[str, Any],
    status_code: int,
    *,
    shows_flash: bool,
) -> HTMLResponse:
    """``template`` rendered with ``values``, never cached; the browser's cookies written, and the flash
    message's dropped once a page has shown it (a fragment leaves it for the next page)."""
    html = environment().get_template(template).render(values)
    response = html_response(browser.settings, html, status_code=status_code, cache=NO_STORE)
    if shows_flash:
        clear_flash(browser.settings, request, response)
    browser.apply(response)
    return response
