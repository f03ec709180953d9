"""Which requests may read from the replica, and read-your-writes for the client that just wrote.

A request reads from the replica when all of these hold (docs/decisions.md "Reads go to the replica
unless ..."): it is a GET or HEAD; its path is one of the anonymous catalog, search and storefront
reads (the app's table, route_limits.py); it carries no sign-in (no bearer token, no customer or staff
session cookie); it carries no live write marker; and the replica is fresh (core/replicas.py). Anything
else reads from the primary, and so does any session that wrote (``RoutedSession``).

The write marker: every response to a state-changing request (POST, PUT, PATCH, DELETE) sets a cookie
that lives ``read_your_writes_seconds`` and holds the time it ends. While it lives, that browser's reads
go to the primary, so a shopper who just added to the cart sees it on every page. It is not signed: it
only ever sends its bearer to the primary, which a forger could do by posting anything. A response to a
request carrying it is made ``private``: its page is that client's view and must not fill a shared cache
(and a shared cache must not answer such a request: deploy/ passes it by).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WROTE_COOKIE = "emporium_wrote"
READ_METHODS = frozenset({"GET", "HEAD"})
PRIVATE = "private, max-age=0, must-revalidate"


@dataclass(frozen=True)
class ReadRouting:
    """The app's rules: ``replica_path(path)`` says whether an anonymous GET of ``path`` may read from
    the replica; ``signed_in_cookies`` are the cookies that make a request someone's."""

    replica_path: Callable[[str], bool]
    signed_in_cookies: frozenset[str]
    read_your_writes_seconds: float
    secure_cookies: bool = False
    _cookie_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_cookie_names", self.signed_in_cookies | {WROTE_COOKIE})

    def may_use_replica(self, request: Request) -> bool:
        """Whether ``request`` may read from the replica (the replica's freshness aside)."""
        if request.method not in READ_METHODS or not self.replica_path(request.url.path):
            return False
        if "authorization" in request.headers:
            return False
        cookies = request.cookies
        if not cookies:
            return True
        if any(cookies.get(name) for name in self.signed_in_cookies):
            return False
        return not marker_live(cookies.get(WROTE_COOKIE))

    def marker(self, now: float | None = None) -> str:
        """The Set-Cookie value of a write marker made ``now``."""
        ends = (time.time() if now is None else now) + self.read_your_writes_seconds
        cookie: SimpleCookie = SimpleCookie()
        cookie[WROTE_COOKIE] = str(math.ceil(ends * 1000))
        morsel = cookie[WROTE_COOKIE]
        morsel["max-age"] = str(math.ceil(self.read_your_writes_seconds))
        morsel["path"] = "/"
        morsel["httponly"] = True
        morsel["samesite"] = "lax"
        if self.secure_cookies:
            morsel["secure"] = True
        return morsel.OutputString()


def marker_live(value: str | None, now: float | None = None) -> bool:
    """Whether a write marker's value (the time it ends, in ms) is still running."""
    if not value or not value.isdigit():
        return False
    return int(value) > (time.time() if now is None else now) * 1000


def _request_has_live_marker(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"cookie" and WROTE_COOKIE.encode() in value:
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is the client's; it only loses the marker
                return False
            morsel = cookie.get(WROTE_COOKIE)
            return morsel is not None and marker_live(morsel.value)
    return False


class ReadYourWritesMiddleware:
    """Sets the write marker on responses to state-changing requests and keeps the responses to requests
    carrying one out of shared caches. Installed only when a replica is configured."""

    def __init__(self, app: ASGIApp, routing: ReadRouting) -> None:
        self.app = app
        self.routing = routing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wrote = scope["method"] not in READ_METHODS and scope["method"] != "OPTIONS"
        marked = _request_has_live_marker(scope)
        if not wrote and not marked:
            await self.app(scope, receive, send)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if wrote:
                    headers.append("set-cookie", self.routing.marker())
                cache = headers.get("cache-control", "")
                if "private" not in cache and "no-store" not in cache:
                    headers["cache-control"] = PRIVATE
            await send(message)

        await self.app(scope, receive, send_marked)
