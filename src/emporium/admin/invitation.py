"""``/admin/invitation/{token}``: the page an invited staff member reaches from the e-mail, to choose a
password. Public (no staff session yet), with the CSRF check and the sign-in routes' per-address limit; the
link works once and expires (accounts/staff.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from emporium.accounts.api import auth_rate_limit
from emporium.accounts.schemas import ChosenPassword
from emporium.accounts.staff import staff
from emporium.admin.flash import Flash, set_flash
from emporium.admin.page import render_public, see_other
from emporium.admin.routing import admin_router
from emporium.core.context import Ctx
from emporium.core.errors import BadRequest
from emporium.core.session import DbSession
from emporium.web.account_pages import field_errors

router = admin_router(prefix="/admin/invitation")

TEMPLATE = "admin/people/invitation.html.j2"
INVALID = "This invitation link is not valid, was used already or has expired. Ask for a new one."
TokenPath = Annotated[str, Path(min_length=10, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("/{token}", response_class=HTMLResponse, response_model=None)
async def invitation_page(request: Request, ctx: Ctx, session: DbSession, token: TokenPath) -> Response:
    user = await staff.invitation(session, token)
    if user is None:
        raise BadRequest(INVALID)
    return render_public(
        request,
        ctx.settings,
        TEMPLATE,
        title="Accept the invitation",
        email=user.email,
        token=token,
        error=None,
    )


@router.post(
    "/{token}", response_class=HTMLResponse, response_model=None, dependencies=[Depends(auth_rate_limit)]
)
async def accept(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    token: TokenPath,
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    user = await staff.invitation(session, token)
    if user is None:
        raise BadRequest(INVALID)
    try:
        chosen = ChosenPassword(password=password)
    except ValidationError as exc:
        return render_public(
            request,
            ctx.settings,
            TEMPLATE,
            title="Accept the invitation",
            status_code=422,
            email=user.email,
            token=token,
            error=field_errors(exc).get("password", "Choose a password."),
        )
    client = request.client
    await staff.accept_invitation(session, ctx, token, chosen.password, ip=client.host if client else None)
    response = see_other("/admin/sign-in")
    set_flash(ctx.settings, response, Flash("success", "Your password is set. Sign in to the back office."))
    return response
