"""Signing in and out of the storefront (registration and the account area are pages of their own).

Sign-in goes through the accounts service, so the lockout after repeated failures, the per-address rate
limit and argon2 all apply as they do for the API; the web session cookie names the server-side session
the service opened, and signing out revokes that session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from emporium.accounts.api import auth_rate_limit, client_info
from emporium.accounts.hooks import after_login
from emporium.accounts.schemas import LoginIn
from emporium.accounts.service import auth
from emporium.core.errors import RateLimited, Unauthorized
from emporium.web.page import ShopPage
from emporium.web.routing import page_router
from emporium.web.security import safe_next

router = page_router(prefix="/account")

SIGN_IN = "web/account/sign_in.html.j2"
NextParam = Annotated[str, Query(alias="next", max_length=2000)]


@router.get("/sign-in", response_class=HTMLResponse, response_model=None)
async def sign_in_page(page: ShopPage, next_url: NextParam = "/") -> HTMLResponse | RedirectResponse:
    target = safe_next(next_url)
    if page.customer is not None:
        return page.redirect(target)
    return await page.render(SIGN_IN, title="Sign in", next_url=target, email="", error=None)


@router.post(
    "/sign-in", response_class=HTMLResponse, response_model=None, dependencies=[Depends(auth_rate_limit)]
)
async def sign_in(
    request: Request,
    page: ShopPage,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> HTMLResponse | RedirectResponse:
    target = safe_next(next_url)

    async def again(error: str, status_code: int) -> HTMLResponse:
        return await page.render(
            SIGN_IN, status_code=status_code, title="Sign in", next_url=target, email=email, error=error
        )

    try:
        credentials = LoginIn(email=email, password=password)
    except ValidationError:
        return await again("Enter your e-mail address and your password.", 422)
    try:
        pair = await auth.login(page.session, page.ctx, credentials, client_info(request))
    except RateLimited as exc:
        response = await again(exc.message, 429)
        response.headers.update(exc.headers)
        return response
    except Unauthorized as exc:
        return await again(exc.message, 401)
    session_id = page.ctx.tokens.decode(pair.access_token, "access").session_id
    await after_login(page.session, page.settings, pair.user.id, request)
    page.browser.signed_in(pair.user.id, session_id)
    return page.redirect(target)


@router.get("/sign-out", response_class=HTMLResponse, response_model=None)
async def sign_out_page(page: ShopPage) -> HTMLResponse | RedirectResponse:
    """A confirmation form: signing out changes state, so it is a POST (a link could be forged)."""
    if page.customer is None:
        return page.redirect("/")
    return await page.render("web/account/sign_out.html.j2", title="Sign out")


@router.post("/sign-out")
async def sign_out(page: ShopPage) -> RedirectResponse:
    session = page.browser.session
    if page.customer is not None and session is not None:
        await auth.logout(
            page.session, user_id=page.customer.id, session_id=session.session_id, refresh_token=None
        )
    page.browser.signed_out()
    return page.redirect("/")
