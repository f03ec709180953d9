"""Which requests may read from the replica, when the replica counts as fresh, and where a routed session
sends each statement: the decisions of core/read_routing.py and core/replicas.py that need no cluster (the
topology tests in tests/topology drive them against a real primary and replica)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select, text
from starlette.requests import Request

from emporium.app import create_app
from emporium.core.config import Settings
from emporium.core.db import Database, ReplicaOptions
from emporium.core.read_routing import WROTE_COOKIE, ReadRouting, ReadYourWritesMiddleware, marker_live
from emporium.core.replicas import (
    ON_PRIMARY,
    PRIMARY_BIND,
    REPLICA_BIND,
    ReplicaReading,
    RoutedSession,
    lag_seconds,
    replica_may_run,
)
from emporium.route_limits import replica_path
from tests.conftest import make_settings

ROUTING = ReadRouting(replica_path, frozenset({"shop_session", "emporium_staff"}), 5.0)


def _request(method: str, path: str, headers: dict[str, str] | None = None) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    return Request({"type": "http", "method": method, "path": path, "headers": raw, "query_string": b""})


@pytest.mark.parametrize(
    ("path", "replica"),
    [
        ("/", True),
        ("/p/linen-apron", True),
        ("/p/linen-apron/reviews", True),
        ("/c/kitchen", True),
        ("/search", True),
        ("/pages/about", True),
        ("/sitemap.xml", True),
        ("/api/v1/products", True),
        ("/api/v1/products/search", True),
        ("/api/v1/products/12", True),
        ("/api/v1/categories", True),
        ("/api/v1/brands", True),
        ("/cart", False),
        ("/checkout", False),
        ("/account/orders", False),
        ("/orders/ORD-2026-000001/thanks", False),
        ("/wishlist", False),
        ("/admin/products", False),
        ("/api/v1/cart", False),
        ("/api/v1/orders", False),
        ("/api/v1/users/profile", False),
        ("/api/v1/admin/products", False),
        ("/api/v1/payments/methods", False),
        ("/health/ready", False),
    ],
)
def test_only_catalog_search_and_storefront_reads_may_use_the_replica(path: str, replica: bool) -> None:
    assert replica_path(path) is replica
    assert ROUTING.may_use_replica(_request("GET", path)) is replica


def test_writes_sign_ins_and_a_live_marker_read_from_the_primary() -> None:
    assert ROUTING.may_use_replica(_request("HEAD", "/p/lamp"))
    assert not ROUTING.may_use_replica(_request("POST", "/api/v1/products"))
    assert not ROUTING.may_use_replica(_request("GET", "/p/lamp", {"Authorization": "Bearer x"}))
    assert not ROUTING.may_use_replica(_request("GET", "/p/lamp", {"Cookie": "shop_session=abc"}))
    assert not ROUTING.may_use_replica(_request("GET", "/", {"Cookie": "emporium_staff=abc"}))
    # A guest's cart and CSRF cookies do not make the request someone's.
    assert ROUTING.may_use_replica(_request("GET", "/p/lamp", {"Cookie": "cart_token=t; shop_csrf=c"}))

    live = ROUTING.marker().split(";")[0]
    assert not ROUTING.may_use_replica(_request("GET", "/p/lamp", {"Cookie": live}))
    assert ROUTING.may_use_replica(_request("GET", "/p/lamp", {"Cookie": f"{WROTE_COOKIE}=1000"}))
    assert ROUTING.may_use_replica(_request("GET", "/p/lamp", {"Cookie": f"{WROTE_COOKIE}=soon"}))


def test_the_marker_lives_read_your_writes_seconds() -> None:
    cookie = ROUTING.marker(now=1_000.0)
    value = cookie.split(";")[0].split("=")[1]
    assert value == "1005000"
    assert "Max-Age=5" in cookie
    assert "HttpOnly" in cookie
    assert "Secure" not in cookie
    assert marker_live(value, now=1_004.9)
    assert not marker_live(value, now=1_005.0)
    assert "Secure" in ReadRouting(replica_path, frozenset(), 5.0, secure_cookies=True).marker()


def _reading(**changes: Any) -> ReplicaReading:
    values: dict[str, Any] = {
        "standby": True,
        "behind": False,
        "replay_age": 600.0,
        "replayed": "0/3000000",
        "streaming": True,
    }
    values.update(changes)
    return ReplicaReading(**values)


def test_the_lag_is_the_replay_age_only_when_something_waits_to_be_applied() -> None:
    # Idle primary: the last replayed transaction is old, yet nothing is missing.
    assert lag_seconds(_reading(), None) == 0.0
    # Replay paused or slow: what it received and did not apply is as old as its last replay.
    assert lag_seconds(_reading(behind=True, replay_age=3.5), None) == 3.5
    assert lag_seconds(_reading(behind=True, replay_age=None), None) == math.inf
    # Not streaming: the primary says whether it wrote more; unreachable, the replica is all there is.
    assert lag_seconds(_reading(streaming=False), primary_ahead=None) == 0.0
    assert lag_seconds(_reading(streaming=False), primary_ahead=False) == 0.0
    assert lag_seconds(_reading(streaming=False, replay_age=9.0), primary_ahead=True) == 9.0
    # Promoted: it is a primary now.
    assert lag_seconds(_reading(standby=False, behind=True), None) == 0.0


def test_only_plain_reads_may_run_on_the_replica() -> None:
    table = Table("things", MetaData(), Column("id", Integer, primary_key=True), Column("name", String))
    assert replica_may_run(select(table))
    assert not replica_may_run(select(table).with_for_update())
    assert not replica_may_run(insert(table).values(name="x"))
    assert not replica_may_run(table.update().values(name="x"))
    assert replica_may_run(text("  select 1"))
    assert replica_may_run(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    assert not replica_may_run(text("UPDATE things SET name = 'x'"))


def test_a_routed_session_reads_the_replica_until_it_writes(tmp_path: Path) -> None:
    metadata = MetaData()
    things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String))
    primary = create_engine(f"sqlite:///{tmp_path / 'primary.db'}")
    replica = create_engine(f"sqlite:///{tmp_path / 'replica.db'}")
    for engine, name in ((primary, "on the primary"), (replica, "on the replica")):
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(insert(things).values(id=1, name=name))
    try:
        with RoutedSession(info={PRIMARY_BIND: primary, REPLICA_BIND: replica}) as session:
            assert session.execute(select(things.c.name)).scalar_one() == "on the replica"
            assert session.get_bind() is replica  # asking for the dialect moves nothing
            session.execute(insert(things).values(id=2, name="written"))
            assert session.info[ON_PRIMARY]
            assert session.execute(select(things.c.name).order_by(things.c.id)).scalars().all() == [
                "on the primary",
                "written",
            ]
            session.rollback()
        with RoutedSession(info={PRIMARY_BIND: primary, REPLICA_BIND: replica}) as session:
            session.execute(select(things).with_for_update())
            assert session.get_bind() is primary
    finally:
        primary.dispose()
        replica.dispose()


async def test_the_middleware_marks_writes_and_keeps_marked_reads_private() -> None:
    inner = FastAPI()

    @inner.get("/p/lamp")
    async def lamp() -> PlainTextResponse:
        return PlainTextResponse("lamp", headers={"Cache-Control": "public, max-age=60"})

    @inner.post("/cart/add")
    async def add() -> PlainTextResponse:
        return PlainTextResponse("added")

    app = ReadYourWritesMiddleware(inner, ROUTING)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop") as client:
        anonymous = await client.get("/p/lamp")
        assert anonymous.headers["cache-control"] == "public, max-age=60"
        assert "set-cookie" not in anonymous.headers

        added = await client.post("/cart/add")
        assert WROTE_COOKIE in added.headers["set-cookie"]
        assert "private" in added.headers["cache-control"]

        marked = await client.get("/p/lamp")  # the client sends the marker back
        assert marked.headers["cache-control"] == "private, max-age=0, must-revalidate"
        assert "set-cookie" not in marked.headers


def test_read_your_writes_must_outlast_the_lag_bound() -> None:
    replica = "postgresql+asyncpg://postgres@127.0.0.1:5433/shop"
    with pytest.raises(ValidationError, match="EMPORIUM_READ_YOUR_WRITES_SECONDS"):
        Settings(database_replica_url=replica, replica_max_lag_seconds=10, read_your_writes_seconds=5)
    settings = Settings(database_replica_url=replica, replica_max_lag_seconds=2, read_your_writes_seconds=5)
    assert settings.migration_url == settings.database_url
    direct = "postgresql+asyncpg://postgres@127.0.0.1:5432/shop"
    assert Settings(database_migration_url=direct).migration_url == direct


async def test_without_a_replica_nothing_routes(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}", None)
    app = create_app(settings=settings)
    assert getattr(app.state, "read_routing", None) is None
    assert app.state.ctx.db.replica is None
    sqlite = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'other.db'}", replica=ReplicaOptions("sqlite+aiosqlite://", 2.0)
    )
    try:
        assert sqlite.replica is None  # SQLite has no replica: the option is ignored
    finally:
        await sqlite.dispose()
    assert ReadYourWritesMiddleware not in [middleware.cls for middleware in app.user_middleware]
    await app.state.ctx.close()
