"""The shop's own cache of shared pages, in front of the page routes (an ASGI middleware).

A shared page (web/page.py: home, category, product and search, asked by a browser without a session)
is the same for every visitor, so the first answer is kept under the catalog and store stamps (see
catalog/cache.py) and the next visitors get it without a route, a template or a statement. A commit that
changes the catalog or the shop's settings changes a stamp, so the page is drawn again on the next
request; what else a page shows (review votes, crypto rates) is at most the cache's time old.

Every shared page gets an ``ETag``: the hash of its stamps, address and body, so it changes with every
catalog change (a price, a stock level) and with anything else that changes the page; a browser or proxy
that sends it back in ``If-None-Match`` gets ``304 Not Modified``. With the catalog cache switched off
(``catalog_cache_ttl_seconds = 0``) pages are not kept, but still carry an ETag and answer 304.

Only answers the route marked ``public`` and that set no cookie are kept: a signed-in page, an error or
a redirect passes through untouched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emporium.catalog.cache import VERSION_KEY as CATALOG_STAMP
from emporium.catalog.cache import PageStore, page_store, replica_ttl
from emporium.core import changes
from emporium.core.context import AppContext
from emporium.store.profile import VERSION_KEY as STORE_STAMP
from emporium.web.browser import SESSION_COOKIE

log = structlog.get_logger(__name__)

# A new release draws its pages anew even where the kept ones outlive a restart (Redis).
try:
    RELEASE = metadata.version("emporium")
except metadata.PackageNotFoundError:  # run from a source tree that was never installed
    RELEASE = "source"

# The paths of the shared pages (and nothing under them but the product page's own path).
EXACT_PATHS = frozenset({"/", "/search"})
PREFIXES = ("/c/", "/p/")
# Kept bodies are pages of a few tens of kilobytes; anything larger is not worth a cache slot.
MAX_BODY_BYTES = 1024 * 1024
# Headers that belong to one answer, not to the page: never kept.
NOT_KEPT = frozenset({b"date", b"server", b"content-length", b"x-request-id"})


def shared_path(path: str) -> bool:
    if path in EXACT_PATHS:
        return True
    return any(path.startswith(prefix) and "/" not in path[len(prefix) :] for prefix in PREFIXES)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def may_share(scope: Scope) -> bool:
    """A GET of a shared page from a browser with no session cookie, and not an htmx swap."""
    if scope["type"] != "http" or scope["method"] != "GET" or not shared_path(scope["path"]):
        return False
    if _header(scope, b"hx-request") is not None:
        return False
    cookies = _header(scope, b"cookie") or ""
    return f"{SESSION_COOKIE}=" not in cookies


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    return header.strip() == "*" or etag in (tag.strip().removeprefix("W/") for tag in header.split(","))


@dataclass(frozen=True)
class Kept:
    """A shared page as sent: status 200, its headers (without the per-answer ones) and body."""

    headers: list[tuple[str, str]]
    body: bytes
    etag: str

    def dump(self) -> str:
        return json.dumps({"h": self.headers, "b": self.body.decode(), "e": self.etag})

    @classmethod
    def load(cls, text: str) -> Kept:
        data = json.loads(text)
        return cls([(k, v) for k, v in data["h"]], data["b"].encode(), data["e"])


class SharedPageCache:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not may_share(scope):
            await self.app(scope, receive, send)
            return
        ctx: AppContext = scope["app"].state.ctx
        try:
            stamps = await _stamps(ctx)
        except Exception as exc:  # no shared cache: every request draws its page
            log.warning("page_cache_unavailable", error=repr(exc))
            await self.app(scope, receive, send)
            return
        ttl = ctx.settings.catalog_cache_ttl_seconds
        if ctx.db.replica is not None:  # a page drawn from a lagging replica is kept only for the bound
            ttl = replica_ttl(Request(scope), stamps, ttl, ctx.settings.replica_max_lag_seconds)
        store = page_store(ctx.cache) if ttl > 0 else None
        key = _key(stamps, scope)
        kept = await _read(store, key)
        if kept is None:
            kept = await self._draw(scope, receive, send, key)
            if kept is None:
                return
            await _write(store, key, kept, ttl)
        await _answer(scope, send, kept)

    async def _draw(self, scope: Scope, receive: Receive, send: Send, key: str) -> Kept | None:
        """The route's answer kept for the cache, or None after it was sent on as it was (not shared)."""
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, keep)
        kept = _shareable(messages, key)
        if kept is None:
            for message in messages:
                await send(message)
        return kept


async def _stamps(ctx: AppContext) -> str:
    catalog = await changes.read_stamp(ctx.cache, CATALOG_STAMP)
    store = await changes.read_stamp(ctx.cache, STORE_STAMP)
    return f"{catalog}.{store}"


def _key(stamps: str, scope: Scope) -> str:
    address = f"{scope['path']}?{scope['query_string'].decode('latin-1')}"
    digest = hashlib.sha256(f"{RELEASE}|{address}".encode()).hexdigest()[:40]
    return f"page:html:{stamps}:{digest}"


def _public_headers(messages: list[Message]) -> list[tuple[bytes, bytes]] | None:
    """The headers of a 200 the route marked ``public`` and that sets no cookie; None for anything else."""
    start = messages[0] if messages else None
    if start is None or start["type"] != "http.response.start" or start["status"] != 200:
        return None
    headers = [(k.lower(), v) for k, v in start.get("headers", [])]
    cache = next((v for k, v in headers if k == b"cache-control"), b"")
    if not cache.startswith(b"public") or any(k == b"set-cookie" for k, _ in headers):
        return None
    return headers


def _shareable(messages: list[Message], key: str) -> Kept | None:
    headers = _public_headers(messages)
    if headers is None:
        return None
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    if len(body) > MAX_BODY_BYTES:
        return None
    etag = '"' + hashlib.sha256(key.encode() + body).hexdigest()[:32] + '"'
    kept = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers if k not in NOT_KEPT]
    return Kept(kept, body, etag)


async def _read(store: PageStore | None, key: str) -> Kept | None:
    if store is None:
        return None
    try:
        text = await store.get(key)
    except Exception as exc:
        log.warning("page_cache_read_failed", error=repr(exc))
        return None
    return Kept.load(text) if text is not None else None


async def _write(store: PageStore | None, key: str, kept: Kept, ttl: int) -> None:
    if store is None:
        return
    try:
        await store.set(key, kept.dump(), ttl)
    except Exception as exc:
        log.warning("page_cache_write_failed", error=repr(exc))


async def _answer(scope: Scope, send: Send, kept: Kept) -> None:
    """The kept page, or ``304 Not Modified`` (its caching headers, no body) when the browser has it."""
    headers: list[tuple[bytes, bytes]] = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in kept.headers]
    headers.append((b"etag", kept.etag.encode()))
    if etag_matches(_header(scope, b"if-none-match"), kept.etag):
        keep = {b"cache-control", b"etag", b"vary"}
        headers = [(k, v) for k, v in headers if k in keep]
        start: dict[str, Any] = {"type": "http.response.start", "status": 304, "headers": headers}
        await send(start)
        await send({"type": "http.response.body", "body": b""})
        return
    headers.append((b"content-length", str(len(kept.body)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": kept.body})
