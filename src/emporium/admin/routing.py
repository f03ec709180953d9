"""``admin_router()``: the router every back-office module builds its routes on.

Its routes render errors as pages (like the storefront's) and answer a missing or ended staff session with
a redirect to the sign-in page that comes back to where the staff member was.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response

from emporium.admin.flash import Flash, set_flash
from emporium.admin.page import (
    SECURITY_PAGE,
    StaffSignInRequired,
    TwoFactorEnrolmentRequired,
    see_other,
    sign_in_redirect,
)
from emporium.web.routing import PageRoute


class AdminRoute(PageRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except StaffSignInRequired as exc:
                return sign_in_redirect(request.app.state.settings, exc)
            except TwoFactorEnrolmentRequired as exc:
                enrol = see_other(SECURITY_PAGE)
                set_flash(request.app.state.settings, enrol, Flash("info", exc.message))
                return enrol

        return handle


def admin_router(**options: Any) -> APIRouter:
    return APIRouter(route_class=AdminRoute, include_in_schema=False, **options)
