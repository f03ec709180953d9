"""Liveness and readiness: 503 names the part that does not answer."""

from __future__ import annotations

from emporium.app import create_app
from emporium.core.context import build_context
from emporium.core.db import Database
from emporium.settings import AppSettings
from tests.conftest import MakeContext
from tests.support import asgi_client, data, error, free_port

REDIS_URL = "redis://127.0.0.1:6379/13"  # each file on the shared Redis has a database of its own


async def test_ready_when_database_and_memory_cache_answer(make_context: MakeContext) -> None:
    async with asgi_client(create_app(ctx=make_context())) as http:
        assert data(await http.get("/health")) == {"status": "ok"}
        assert data(await http.get("/health/ready")) == {
            "status": "ready",
            "database": "ok",
            "cache": "ok",
            "rate_limits": "ok",
        }


async def test_ready_with_a_reachable_redis_cache(make_context: MakeContext) -> None:
    async with asgi_client(create_app(ctx=make_context(redis_url=REDIS_URL))) as http:
        assert data(await http.get("/health/ready"))["cache"] == "ok"


async def test_not_ready_when_the_cache_is_unreachable(make_context: MakeContext) -> None:
    context = make_context(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with asgi_client(create_app(ctx=context)) as http:
        # Liveness does not depend on the cache: the process itself is fine.
        assert data(await http.get("/health")) == {"status": "ok"}
        err = error(await http.get("/health/ready"), 503)
    assert err["code"] == "NOT_READY"
    # The same Redis holds the rate limits: they go on in memory, and say so.
    assert [d["field"] for d in err["details"]] == ["cache", "rate_limits"]
    assert "cache" in err["details"][0]["message"]
    assert err["details"][1]["message"].startswith("degraded")


async def test_not_ready_when_the_database_is_unreachable(settings: AppSettings) -> None:
    context = build_context(
        settings, db=Database(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/nothing_test")
    )
    try:
        async with asgi_client(create_app(ctx=context)) as http:
            assert data(await http.get("/health")) == {"status": "ok"}
            err = error(await http.get("/health/ready"), 503)
    finally:
        await context.close()
    assert [d["field"] for d in err["details"]] == ["database"]
    assert "127.0.0.1" not in str(err)  # which part, not where it lives
