"""Cached catalog pages: product detail, product lists, featured products, the category tree, brands.

Every cached body is filed under the catalog stamp (``catalog:version`` in the shared cache, see
core/changes.py). Any commit that writes a catalog or stock table gives the stamp a new value after the
commit, so every app process sharing the cache misses on its next request and reads the database again;
old pages simply expire. Only what anybody may see is cached: staff views (drafts, inactive categories)
never are. The stored body is the exact JSON the route would have sent.

With Redis configured the pages live there; otherwise in this process, in a store bounded in bytes so that
many distinct queries cannot grow it without limit. A cache that fails is logged and skipped: the page is
then answered from the database.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol
from weakref import WeakKeyDictionary

import structlog
from fastapi import Depends, Request, Response
from pydantic import BaseModel, TypeAdapter

from emporium.core import changes
from emporium.core.cache import Cache, MemoryCache
from emporium.core.context import AppContext

log = structlog.get_logger(__name__)

VERSION_KEY = "catalog:version"
WATCHED_TABLES = (
    "products",
    "product_variants",
    "product_tags",
    "product_images",
    "stock_pools",
    "categories",
    "brands",
)
LOCAL_MAX_BYTES = 64 * 1024 * 1024


class PageStore(Protocol):
    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl_seconds: int) -> None: ...


class LocalPages:
    """Least recently used pages with an expiry, at most ``max_bytes`` of bodies in all."""

    def __init__(self, max_bytes: int = LOCAL_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def _drop(self, key: str) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.size -= len(item[0])

    async def get(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= time.monotonic():
            self._drop(key)
            return None
        self._items.move_to_end(key)
        return item[0]

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        if len(value) > self.max_bytes:
            return
        self._drop(key)
        self._items[key] = (value, time.monotonic() + ttl_seconds)
        self.size += len(value)
        while self.size > self.max_bytes:
            oldest = next(iter(self._items))
            self._drop(oldest)


# One in-process page store per in-process cache (that is, per app context).
_local_pages: WeakKeyDictionary[MemoryCache, LocalPages] = WeakKeyDictionary()


def page_store(cache: Cache) -> PageStore:
    if isinstance(cache, MemoryCache):
        store = _local_pages.get(cache)
        if store is None:
            store = _local_pages[cache] = LocalPages()
        return store
    return cache


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(model: Any) -> TypeAdapter[Any]:
    adapter = _adapters.get(model)
    if adapter is None:
        adapter = _adapters[model] = TypeAdapter(model)
    return adapter


def render(model: Any, value: Any) -> bytes:
    """The JSON FastAPI sends for ``value`` returned from a route whose response model is ``model``."""
    adapter = _adapter(model)
    return adapter.dump_json(adapter.validate_python(value), by_alias=True)


@dataclass(frozen=True)
class CatalogPages:
    """The page cache as one request sees it: the stamp read once, before any SQL of the request."""

    store: PageStore | None
    stamp: str
    ttl_seconds: int

    def key(self, kind: str, parts: Any) -> str:
        digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
        return f"catalog:page:{self.stamp}:{kind}:{digest[:40]}"

    async def respond(
        self,
        kind: str,
        parts: Any | None,
        model: Any,
        produce: Callable[[], Awaitable[BaseModel]],
    ) -> BaseModel | Response:
        """The cached body for (``kind``, ``parts``) or ``produce()``'s, stored for the next request.

        ``parts=None`` (a staff view) or a disabled cache: ``produce()``'s value, not stored. It is
        rendered here too, in one pass: FastAPI would validate the model again and encode it twice.
        """
        if self.store is None or parts is None:
            return Response(render(model, await produce()), media_type="application/json")
        key = self.key(kind, parts)
        try:
            body = await self.store.get(key)
        except Exception as exc:
            log.warning("catalog_cache_read_failed", error=repr(exc))
            return await produce()
        if body is not None:
            return Response(body.encode(), media_type="application/json")
        rendered = render(model, await produce())
        try:
            await self.store.set(key, rendered.decode(), self.ttl_seconds)
        except Exception as exc:
            log.warning("catalog_cache_write_failed", error=repr(exc))
        return Response(rendered, media_type="application/json")

    async def value(self, kind: str, parts: Any, model: Any, produce: Callable[[], Awaitable[Any]]) -> Any:
        """``produce()``'s value (of type ``model``), or the one stored for (``kind``, ``parts``) under the
        current stamp: for what a page draws, not a whole response."""
        adapter = _adapter(model)
        if self.store is None:
            return await produce()
        key = self.key(kind, parts)
        try:
            body = await self.store.get(key)
        except Exception as exc:
            log.warning("catalog_cache_read_failed", error=repr(exc))
            return await produce()
        if body is not None:
            return adapter.validate_json(body)
        value = await produce()
        try:
            await self.store.set(key, adapter.dump_json(value).decode(), self.ttl_seconds)
        except Exception as exc:
            log.warning("catalog_cache_write_failed", error=repr(exc))
        return value


_DISABLED = CatalogPages(store=None, stamp="", ttl_seconds=0)


async def catalog_pages(request: Request) -> CatalogPages:
    ctx: AppContext = request.app.state.ctx
    ttl = ctx.settings.catalog_cache_ttl_seconds
    if ttl <= 0:
        return _DISABLED
    try:
        stamp = await changes.read_stamp(ctx.cache, VERSION_KEY)
    except Exception as exc:
        log.warning("catalog_cache_unavailable", error=repr(exc))
        return _DISABLED
    if ctx.db.replica is not None:
        ttl = _replica_ttl(request, stamp, ttl, ctx.settings.replica_max_lag_seconds)
    return CatalogPages(store=page_store(ctx.cache), stamp=stamp, ttl_seconds=ttl)


# When this process first saw each recent stamp (a few: they change with each catalog write).
_first_seen: OrderedDict[str, float] = OrderedDict()
_STAMPS_KEPT = 64


def _replica_ttl(request: Request, stamp: str, ttl: int, max_lag: float) -> int:
    """A page the replica may answer, under a stamp younger than the replica's lag bound, may have been
    read before the replica applied the change that made the stamp: it is kept only for the bound, so
    the next reader after it gets the change (core/read_routing.py)."""
    routing = getattr(request.app.state, "read_routing", None)
    if routing is None or not routing.may_use_replica(request):
        return ttl
    now = time.monotonic()
    seen = _first_seen.setdefault(stamp, now)
    if len(_first_seen) > _STAMPS_KEPT:
        _first_seen.popitem(last=False)
    return ttl if now - seen > max_lag else min(ttl, max(1, math.ceil(max_lag)))


# Declare it as a route's first parameter: the stamp must be read before the request's first SQL
# statement, or a page read from an older snapshot could be filed under a newer stamp.
Pages = Annotated[CatalogPages, Depends(catalog_pages)]
