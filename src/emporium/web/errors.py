"""Error pages in the shop's look for page paths; machine paths (the API, webhooks, health, metrics,
media files, the payment provider's pages) keep the JSON error body."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from emporium.catalog.media.config import MediaSettings
from emporium.core.config import Settings
from emporium.core.context import AppContext, shown_settings
from emporium.web.page import NO_STORE, html_response, layout_defaults, shop_page
from emporium.web.security import safe_next
from emporium.web.templating import environment

log = structlog.get_logger(__name__)


class PageError(StrEnum):
    """The error codes of the storefront's own pages and files (a page's JSON twin answers with them too)."""

    PAGE_NOT_FOUND = "PAGE_NOT_FOUND"
    SITEMAP_NOT_FOUND = "SITEMAP_NOT_FOUND"
    ASSET_NOT_FOUND = "ASSET_NOT_FOUND"
    DOCS_NOT_INSTALLED = "DOCS_NOT_INSTALLED"
    CHECKOUT_EXPIRED = "CHECKOUT_EXPIRED"
    CSRF_FAILED = "CSRF_FAILED"


# Long enough for a healthy database, short enough that a sick one does not hold the error page up.
LAYOUT_READ_SECONDS = 1.0
MACHINE_ROOTS = frozenset({"api", "pay", "health", "metrics", "webhooks"})
HEADLINES = {
    400: "We could not read that request",
    403: "You cannot do that here",
    404: "We could not find that page",
    405: "That is not something this page does",
    409: "That could not be done just now",
    422: "Some details need another look",
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
        return root not in MACHINE_ROOTS and root != settings.part(MediaSettings).media_url_prefix.strip("/")

    async def render(
        self, request: Request, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        # The request's effective settings (the store's name...) when its route got that far.
        settings: Settings = shown_settings() or request.app.state.settings
        try:
            # The back office's errors stand alone: no shop navigation, no cart.
            live = {} if _in_back_office(request) else await self._live_layout(request, status)
            return self._page(request, settings, status, message, headers, live)
        except Exception as exc:
            # The error page itself must not fail: fall back to plain text, still without a stack trace.
            log.exception("error_page_failed", error_type=type(exc).__name__)
            return HTMLResponse(
                f"{status} {HTTPStatus(status).phrase}",
                status_code=status,
                headers={"Cache-Control": NO_STORE},
            )

    async def _live_layout(self, request: Request, status: int) -> dict[str, Any]:
        """The layout's parts that come from the database (who is signed in, the cart count, the
        categories), read in a session of their own, since the request's may be what failed. Left out
        when the database is the trouble (503) or does not answer at once, and for a refused client (429):
        a rate limit that made the database work for every refused request would protect little."""
        if status in (429, 503):
            return {}
        ctx: AppContext | None = getattr(request.app.state, "ctx", None)
        if ctx is None:
            return {}
        try:
            return await asyncio.wait_for(self._read_layout(request, ctx), timeout=LAYOUT_READ_SECONDS)
        except Exception as exc:  # any failure here only costs the page its live parts
            log.warning("error_page_layout_unread", error_type=type(exc).__name__)
            return {}

    async def _read_layout(self, request: Request, ctx: AppContext) -> dict[str, Any]:
        async with ctx.db.session() as session:
            page = await shop_page(request, ctx, session)
            return {
                "customer": page.customer,
                "cart_count": await page.cart_count(),
                "nav_categories": await page.categories(),
            }

    def _page(
        self,
        request: Request,
        settings: Settings,
        status: int,
        message: str,
        headers: dict[str, str] | None,
        live: dict[str, Any],
    ) -> Response:
        values = layout_defaults(settings, request)
        # Without the live parts the cart's count is unknown: no number rather than a wrong one.
        values.update({"cart_count": None, **live})
        known = status in HTTPStatus._value2member_map_
        values.update(
            title=HEADLINES.get(status) or (HTTPStatus(status).phrase if known else "Error"),
            status=status,
            message=message,
            back_url=_way_back(request),
            retry_after=next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None),
        )
        template = "admin/error.html.j2" if _in_back_office(request) else "web/error.html.j2"
        html = environment().get_template(template).render(values)
        response = html_response(settings, html, status_code=status, cache=NO_STORE)
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response


def _in_back_office(request: Request) -> bool:
    path = request.url.path
    return path == "/admin" or path.startswith("/admin/")


def _way_back(request: Request) -> str | None:
    """The page the shopper came from, when it is one of this shop's pages and not this one."""
    referer = request.headers.get("referer", "")[:2000]
    if not referer:
        return None
    parts = urlsplit(referer)
    if parts.netloc != request.url.netloc:
        return None
    path = safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return None if path in ("/", here) else path


error_pages = HtmlErrorPages()
