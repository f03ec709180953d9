"""Response headers every answer needs whatever route made it: HSTS in production, and on the API
``nosniff``, a referrer policy and ``Cache-Control: no-store`` (its answers carry carts, orders, addresses
and tokens, which no browser or proxy cache may keep) unless the route chose its own caching. CORS is off
unless ``EMPORIUM_CORS_ALLOW_ORIGINS`` lists the origins of a separate front end."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emporium.core.config import Settings

API_PREFIX = "/api/"
# What a separate front end sends and reads (core/idempotency.py, cart/auth.py, orders/auth.py).
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Cart-Token",
    "X-Order-Token",
    "X-Request-ID",
)
CORS_RESPONSE_HEADERS = ("Retry-After", "X-Request-ID", "X-Cart-Token")
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_MAX_AGE_SECONDS = 600


def hsts_value(settings: Settings) -> str:
    value = f"max-age={settings.hsts_max_age_seconds}"
    return value + "; includeSubDomains" if settings.hsts_include_subdomains else value


class SecurityHeadersMiddleware:
    """Adds the headers a response lacks; a header a route set itself is left as it is."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.everywhere: tuple[tuple[bytes, bytes], ...] = (
            ((b"strict-transport-security", hsts_value(settings).encode()),)
            if settings.env == "production"
            else ()
        )
        self.api = (
            *self.everywhere,
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"cache-control", b"no-store"),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self.api if scope["path"].startswith(API_PREFIX) else self.everywhere
        if not added:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in added if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_security_headers(app: FastAPI, settings: Settings) -> None:
    """Install the headers and, when origins are listed, CORS; call after every other middleware (the last
    added is the outermost, so a preflight is answered before any limit counts it)."""
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_allow_origins),
            allow_methods=list(CORS_METHODS),
            allow_headers=list(CORS_REQUEST_HEADERS),
            expose_headers=list(CORS_RESPONSE_HEADERS),
            # Bearer tokens, not cookies: a foreign page never rides on the shop's cookies.
            allow_credentials=False,
            max_age=CORS_MAX_AGE_SECONDS,
        )
