"""The second step of signing in, for staff with two-factor sign-in: ``/admin/sign-in/code``.

The password step leaves a pending staff cookie (admin/session.py: it opens no screen and lasts five
minutes). A right code (from the app, or an unused recovery code) turns it into a signed-in cookie for
the same session; wrong codes are counted per staff member (accounts/two_factor.py) besides the
per-address limit every sign-in route has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from emporium.accounts.api import auth_rate_limit
from emporium.accounts.staff_access import staff_access
from emporium.accounts.two_factor import two_factor
from emporium.admin.page import render_public, see_other
from emporium.admin.routing import admin_router
from emporium.admin.session import StaffCookie, drop_cookie, read_cookie, write_cookie
from emporium.admin.sign_in import NextParam, admin_target
from emporium.core.context import AppContext, Ctx
from emporium.core.errors import RateLimited
from emporium.core.session import DbSession

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from emporium.accounts.models import User

router = admin_router(prefix="/admin/sign-in/code")

CODE_PAGE = "admin/people/sign_in_code.html.j2"
WRONG_CODE = "That code is not right, or was used already. Enter the code your app shows now."


def _back_to_sign_in() -> Response:
    return see_other("/admin/sign-in")


async def _pending(
    request: Request, ctx: AppContext, session: AsyncSession
) -> tuple[StaffCookie, User] | None:
    cookie = read_cookie(ctx.settings, request)
    if cookie is None or not cookie.pending:
        return None
    user = await staff_access.staff_for_session(
        session, cookie.user_id, cookie.session_id, idle_minutes=ctx.settings.staff_idle_minutes
    )
    if user is None or not two_factor.is_enabled(user):
        return None
    return cookie, user


@router.get("", response_class=HTMLResponse, response_model=None)
async def code_page(
    request: Request, ctx: Ctx, session: DbSession, next_url: NextParam = "/admin"
) -> Response:
    if await _pending(request, ctx, session) is None:
        return _back_to_sign_in()
    return render_public(
        request, ctx.settings, CODE_PAGE, title="Two-factor code", next_url=admin_target(next_url), error=None
    )


@router.post("", response_class=HTMLResponse, response_model=None, dependencies=[Depends(auth_rate_limit)])
async def check_code(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    code: Annotated[str, Form(max_length=64)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/admin",
) -> Response:
    target = admin_target(next_url)
    found = await _pending(request, ctx, session)
    if found is None:
        response = _back_to_sign_in()
        drop_cookie(ctx.settings, response)
        return response
    cookie, user = found

    def again(error: str, status_code: int) -> HTMLResponse:
        return render_public(
            request,
            ctx.settings,
            CODE_PAGE,
            title="Two-factor code",
            status_code=status_code,
            next_url=target,
            error=error,
        )

    if not code.strip():
        return again("Enter the six-digit code from your authenticator app.", 422)
    try:
        accepted = await two_factor.verify(session, ctx, user, code)
    except RateLimited as exc:
        response = again(exc.message, 429)
        response.headers.update(exc.headers)
        return response
    if not accepted:
        return again(WRONG_CODE, 401)
    signed_in = see_other(target)
    write_cookie(ctx.settings, signed_in, user.id, cookie.session_id, "s")
    return signed_in
