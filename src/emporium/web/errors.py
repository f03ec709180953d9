"""Error pages in the shop's look for page paths; machine paths (the API, webhooks, health, metrics,
media files, the payment provider's pages) keep the JSON error body."""

from __future__ import annotations

from http import HTTPStatus

import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from emporium.core.config import Settings
from emporium.web.page import NO_STORE, html_response, layout_defaults
from emporium.web.templating import environment

log = structlog.get_logger(__name__)

MACHINE_ROOTS = frozenset({"api", "pay", "health", "metrics", "webhooks"})
HEADLINES = {
    403: "You cannot do that here",
    404: "We could not find that page",
    405: "That is not something this page does",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "We'll be back soon",
}


class HtmlErrorPages:
    """Plugged into ``install_error_handlers``: answers errors of page paths with an HTML page."""

    def handles(self, request: Request) -> bool:
        """A storefront route's errors, and paths no route answers outside the machine roots."""
        route = request.scope.get("route")
        if route is not None:
            return bool(getattr(route, "renders_pages", False))
        settings: Settings = request.app.state.settings
        root = request.url.path.lstrip("/").split("/", 1)[0]
        return root not in MACHINE_ROOTS and root != settings.media_url_prefix.strip("/")

    async def render(
        self, request: Request, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        settings: Settings = request.app.state.settings
        try:
            return self._page(request, settings, status, message, headers)
        except Exception as exc:
            # The error page itself must not fail: fall back to plain text, still without a stack trace.
            log.exception("error_page_failed", error_type=type(exc).__name__)
            return HTMLResponse(
                f"{status} {HTTPStatus(status).phrase}",
                status_code=status,
                headers={"Cache-Control": NO_STORE},
            )

    def _page(
        self, request: Request, settings: Settings, status: int, message: str, headers: dict[str, str] | None
    ) -> Response:
        # No database here (the request may have failed on it), so no customer, nav or form in the layout.
        values = layout_defaults(settings, request)
        known = status in HTTPStatus._value2member_map_
        values.update(
            title=HEADLINES.get(status) or (HTTPStatus(status).phrase if known else "Error"),
            status=status,
            message=message,
        )
        html = environment().get_template("web/error.html.j2").render(values)
        response = html_response(settings, html, status_code=status, cache=NO_STORE)
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response


error_pages = HtmlErrorPages()
