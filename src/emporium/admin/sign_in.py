"""Signing in to and out of the back office.

Sign-in goes through the accounts service, so the lockout after repeated failures, the per-address rate
limit and argon2 apply exactly as for the API and the storefront. Only a staff role gets a staff cookie: a
customer's correct password opens nothing here, and the session it opened is ended at once.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from emporium.accounts.api import auth_rate_limit, client_info
from emporium.accounts.schemas import LoginIn
from emporium.accounts.service import auth
from emporium.accounts.staff_access import is_staff, staff_access
from emporium.accounts.two_factor import two_factor
from emporium.admin.flash import Flash, set_flash
from emporium.admin.page import render_public, see_other
from emporium.admin.routing import admin_router
from emporium.admin.session import drop_cookie, read_cookie, write_cookie
from emporium.core.context import Ctx
from emporium.core.errors import RateLimited, Unauthorized
from emporium.core.session import DbSession
from emporium.web.security import safe_next

router = admin_router(prefix="/admin")

SIGN_IN = "admin/sign_in.html.j2"
NOT_STAFF = "This account has no access to the back office."
NextParam = Annotated[str, Query(alias="next", max_length=2000)]


def admin_target(url: str | None) -> str:
    """Where to go after signing in: a back-office path, else the back office's home."""
    target = safe_next(url)
    path, _, _query = target.partition("?")
    # Browsers resolve dot segments: /admin/../account is /account.
    if "/." in path or not (path == "/admin" or path.startswith("/admin/")):
        return "/admin"
    return target


@router.get("/sign-in", response_class=HTMLResponse, response_model=None)
async def sign_in_page(
    request: Request, ctx: Ctx, session: DbSession, next_url: NextParam = "/admin"
) -> Response:
    cookie = read_cookie(ctx.settings, request)
    if cookie is not None and not cookie.pending:
        idle = ctx.settings.staff_idle_minutes
        if await staff_access.staff_for_session(
            session, cookie.user_id, cookie.session_id, idle_minutes=idle
        ):
            return see_other(admin_target(next_url))
    return render_public(
        request, ctx.settings, SIGN_IN, title="Sign in", next_url=admin_target(next_url), email="", error=None
    )


@router.post(
    "/sign-in", response_class=HTMLResponse, response_model=None, dependencies=[Depends(auth_rate_limit)]
)
async def sign_in(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/admin",
) -> Response:
    target = admin_target(next_url)

    def again(error: str, status_code: int) -> HTMLResponse:
        return render_public(
            request,
            ctx.settings,
            SIGN_IN,
            title="Sign in",
            status_code=status_code,
            next_url=target,
            email=email,
            error=error,
        )

    try:
        credentials = LoginIn(email=email, password=password)
    except ValidationError:
        return again("Enter your e-mail address and your password.", 422)
    try:
        pair = await auth.login(session, ctx, credentials, client_info(request), code_checked_later=True)
    except RateLimited as exc:
        response = again(exc.message, 429)
        response.headers.update(exc.headers)
        return response
    except Unauthorized as exc:
        return again(exc.message, 401)
    session_id = ctx.tokens.decode(pair.access_token, "access").session_id
    user = await auth.user_for_session(session, pair.user.id, session_id)
    if user is None or not is_staff(user):
        await staff_access.end_session(session, session_id, "not_staff")
        return again(NOT_STAFF, 403)
    if two_factor.is_enabled(user):
        # The password was right; the session opens the back office only once the code is (sign_in_code.py).
        second_step = see_other(f"/admin/sign-in/code?next={quote(target, safe='/')}")
        write_cookie(ctx.settings, second_step, user.id, session_id, "p")
        return second_step
    signed_in = see_other(target)
    write_cookie(ctx.settings, signed_in, user.id, session_id, "s")
    return signed_in


@router.post("/sign-out", response_model=None)
async def sign_out(request: Request, ctx: Ctx, session: DbSession) -> Response:
    cookie = read_cookie(ctx.settings, request)
    if cookie is not None:
        await staff_access.end_session(session, cookie.session_id, "logout")
    response = see_other("/admin/sign-in")
    drop_cookie(ctx.settings, response)
    set_flash(ctx.settings, response, Flash("info", "You have signed out."))
    return response
