"""With the configured Redis stopped, the limits go on in memory (logged, and /health/ready says degraded):
signing in and tracking an order keep working, nothing answers 500. Redis back, it counts again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError
from structlog.testing import capture_logs

from emporium.app import create_app
from tests.accounts.helpers import login, login_body
from tests.conftest import MakeContext, sign_up
from tests.orders.test_tracking import _guest_order
from tests.support import asgi_client, data, error, free_port

TRACK = "/api/v1/orders/track"


@asynccontextmanager
async def redis_server(port: int, workdir: Path) -> AsyncIterator[None]:
    """A redis-server of this test's own on ``port``, stopped when the block ends."""
    proc = await asyncio.create_subprocess_exec(
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        client = Redis(port=port)
        for _ in range(100):
            try:
                await client.ping()
                break
            except (OSError, RedisError):
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("redis-server did not start")
        await client.aclose()
        yield
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 10)


async def _limit_keys(port: int) -> list[bytes]:
    client = Redis(port=port)
    try:
        return [key async for key in client.scan_iter(match="emporium:limits:*")]
    finally:
        await client.aclose()


async def test_sign_in_and_tracking_work_through_a_redis_outage_and_redis_counts_again_after(
    make_context: MakeContext, tmp_path: Path
) -> None:
    port = free_port()
    ctx = make_context(redis_url=f"redis://127.0.0.1:{port}/0", rate_limit_retry_seconds=0.3)
    try:
        async with asgi_client(create_app(ctx=ctx)) as client:
            async with redis_server(port, tmp_path):
                ada = await sign_up(client, "ada@example.com")
                order = await _guest_order(client, ctx)
                right = {"order_number": str(order["number"]), "phone": "+12025550143"}
                data(await client.get(TRACK, params=right))
                assert await _limit_keys(port)
                assert data(await client.get("/health/ready"))["rate_limits"] == "ok"

            # Redis is down.
            with capture_logs() as logs:
                await login(client, ada.email, ada.password)
                data(await client.get("/api/v1/users/profile", headers=ada.headers))
                data(await client.get(TRACK, params=right))
                error(await client.get(TRACK, params={**right, "phone": "+12025550000"}), 404)
                # The lockout still holds, counted in this process for the outage.
                for _ in range(5):
                    response = await client.post(
                        "/api/v1/auth/login", json=login_body(ada.email, "wrong one!!")
                    )
                    assert error(response, 401)["code"] == "INVALID_CREDENTIALS"
                locked = await client.post("/api/v1/auth/login", json=login_body(ada.email, ada.password))
                assert error(locked, 429)["code"] == "TOO_MANY_ATTEMPTS"
                ready = error(await client.get("/health/ready"), 503)
            events = [entry["event"] for entry in logs]
            assert events.count("rate_limit_store_unreachable") == 1
            assert {"field": "rate_limits", "message": ready["details"][-1]["message"]} in ready["details"]
            assert ready["details"][-1]["message"].startswith("degraded")

            # Redis is back (empty): after the retry time it counts again.
            async with redis_server(port, tmp_path):
                await asyncio.sleep(0.4)
                with capture_logs() as logs:
                    bob = await sign_up(client, "bob@example.com")
                    data(await client.get("/api/v1/users/profile", headers=bob.headers))
                assert "rate_limit_store_recovered" in [entry["event"] for entry in logs]
                assert await _limit_keys(port)
                assert data(await client.get("/health/ready"))["rate_limits"] == "ok"
    finally:
        await ctx.limiter.close()
