"""A catalog page the replica may answer is kept only for the lag bound while the catalog stamp is younger
than that bound: it may have been read before the replica applied the change that made the stamp."""

from __future__ import annotations

import time

from fastapi import FastAPI
from starlette.requests import Request

from emporium.catalog import cache
from emporium.core.read_routing import ReadRouting
from emporium.route_limits import replica_path


def _request(app: FastAPI, path: str, cookie: str = "") -> Request:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    return Request({"type": "http", "method": "GET", "path": path, "headers": headers, "app": app})


def test_a_young_stamp_keeps_replica_pages_only_for_the_lag_bound() -> None:
    app = FastAPI()
    app.state.read_routing = ReadRouting(replica_path, frozenset({"shop_session"}), 5.0)
    stamp = f"young-{time.monotonic_ns()}"
    assert cache._replica_ttl(_request(app, "/api/v1/products"), stamp, 60, 2.0) == 2
    # The primary answers a signed-in shopper: its page is current, kept for the whole time.
    assert cache._replica_ttl(_request(app, "/api/v1/products", "shop_session=x"), stamp, 60, 2.0) == 60
    # Once the stamp is older than the bound, the replica holds its change: the whole time again.
    cache._first_seen[stamp] -= 3.0
    assert cache._replica_ttl(_request(app, "/api/v1/products"), stamp, 60, 2.0) == 60


def test_without_read_routing_the_ttl_is_the_setting() -> None:
    assert cache._replica_ttl(_request(FastAPI(), "/api/v1/products"), "any", 60, 2.0) == 60
