"""Every request counted against the limit of its route class, before anything else is done for it.

A class (reads, cart, checkout, account, staff) has one limit per client: the signed-in user wherever
they connect from, else the client address. Which class a request falls in, and who is signed in, are
decided by functions the app passes in (``emporium.route_limits``), so this module knows no routes. A
refused request gets 429 with ``Retry-After``: the standard error body, or the storefront's error page for
page paths. It runs before the body is read and before a database session exists, so a refusal is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import structlog
from limits import RateLimitItem
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from emporium.core.errors import ErrorPages, error_response
from emporium.core.ratelimit import RateLimiter

log = structlog.get_logger(__name__)

RATE_LIMITED_MESSAGE = "Too many requests; try again later."
Classify = Callable[[str, str], str | None]
Identify = Callable[[Scope], str | None]


class RouteLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        limits: Mapping[str, str],
        classify: Classify,
        identify: Identify,
        pages: ErrorPages | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.limits: dict[str, RateLimitItem] = {name: limiter.parse(value) for name, value in limits.items()}
        self.classify = classify
        self.identify = identify
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route_class = self.classify(scope["method"], scope["path"])
        if route_class is None:
            await self.app(scope, receive, send)
            return
        who = self.identify(scope)
        if who is None:
            client = scope.get("client")
            who = "addr:" + (client[0] if client else "unknown")
        decision = await self.limiter.check(self.limits[route_class], "route", route_class, who)
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        log.info("rate_limited", route_class=route_class, path=scope["path"])
        headers = {"Retry-After": str(decision.retry_after)}
        request = Request(scope, receive)
        if self.pages is not None and self.pages.handles(request):
            response = await self.pages.render(request, 429, RATE_LIMITED_MESSAGE, headers)
        else:
            response = error_response(429, "RATE_LIMITED", RATE_LIMITED_MESSAGE, headers=headers)
        await response(scope, receive, send)
