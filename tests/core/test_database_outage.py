"""With PostgreSQL stopped, the shop answers 503 with Retry-After (the API's error body, the storefront's
"back soon" page), never 500, and recovers by itself once the server is back. The server is a cluster this
test starts and stops itself, never the shared one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from emporium.app import create_app
from emporium.core.context import build_context
from emporium.core.migrations import upgrade_async
from tests.conftest import make_settings, sign_up
from tests.core.own_postgres import OwnPostgres, own_postgres
from tests.support import asgi_client, error


@pytest.fixture
async def stoppable() -> AsyncIterator[OwnPostgres]:
    with own_postgres() as cluster:
        cluster.create_database("emporium_outage_test")
        await upgrade_async(cluster.url("emporium_outage_test"))
        yield cluster


async def _answers(client: httpx.AsyncClient, bearer: dict[str, str]) -> list[httpx.Response]:
    return [
        await client.get("/api/v1/products"),
        await client.get("/api/v1/users/profile", headers=bearer),
        await client.post("/api/v1/auth/login", json={"email": "x@example.com", "password": "whatever-123"}),
        await client.get("/api/v1/cart", headers={"X-Cart-Token": "a" * 43}),
        await client.get("/", headers={"Accept": "text/html"}),
        await client.get("/search?q=lamp", headers={"Accept": "text/html"}),
    ]


async def test_a_stopped_database_is_a_503_with_retry_after_and_the_shop_comes_back(
    stoppable: OwnPostgres,
) -> None:
    settings = make_settings(stoppable.url("emporium_outage_test"), None, catalog_cache_ttl_seconds=0)
    ctx = build_context(settings)
    try:
        async with asgi_client(create_app(ctx=ctx)) as client:
            shopper = await sign_up(client, "outage@example.com")
            before = await _answers(client, shopper.headers)
            assert [r.status_code for r in before][:2] == [200, 200]
            assert all(r.status_code < 500 for r in before)

            stoppable.stop()
            # The first requests find the pool's connections closed by the server, the next ones a
            # refused connection: both are the outage.
            for _ in range(2):
                for response in await _answers(client, shopper.headers):
                    assert response.status_code == 503, (response.request.url, response.text[:300])
                    assert response.headers["retry-after"] == "30"
                    if response.request.url.path.startswith("/api/"):
                        assert error(response, 503)["code"] == "DATABASE_UNAVAILABLE"
                    else:
                        assert response.headers["content-type"].startswith("text/html")
                        assert "back soon" in response.text
                        assert "Traceback" not in response.text
            assert (await client.get("/health/ready")).status_code == 503

            stoppable.start()
            after = await _answers(client, shopper.headers)
            assert [r.status_code for r in after] == [r.status_code for r in before]
    finally:
        await ctx.close()
