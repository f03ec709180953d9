"""``page_router()``: the router every storefront module builds its routes on.

Its routes answer an unexpected exception with the shop's 500 page. (The request-id middleware would
otherwise answer with the API's JSON error body: it catches what escapes the app before Starlette's
last-resort handler sees it.) Refusals the app raises on purpose (404, 403, ...) are left to the error
handlers, which render pages for these paths too. The request's transaction is rolled back before this
runs, as for any failed request.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from emporium.core.errors import EmporiumError
from emporium.core.middleware import INTERNAL_ERROR_MESSAGE
from emporium.core.outage import MESSAGE as OUTAGE_MESSAGE
from emporium.core.outage import OUTAGE_HEADERS, database_unavailable
from emporium.core.session import discard_request_session
from emporium.web.errors import error_pages

log = structlog.get_logger(__name__)


class PageRoute(APIRoute):
    # Read by the error pages: errors of this route are answered with HTML.
    renders_pages = True

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except (EmporiumError, HTTPException, RequestValidationError):
                raise
            except Exception as exc:
                if database_unavailable(exc):  # an outage to wait out: "back soon" (core/outage.py)
                    log.warning("database_unavailable", path=request.url.path, error_type=type(exc).__name__)
                    await discard_request_session(request)
                    return await error_pages.render(request, 503, OUTAGE_MESSAGE, OUTAGE_HEADERS)
                log.exception("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
                return await error_pages.render(request, 500, INTERNAL_ERROR_MESSAGE)

        return handle


def page_router(**options: Any) -> APIRouter:
    return APIRouter(route_class=PageRoute, include_in_schema=False, **options)
