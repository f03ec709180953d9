"""Two app instances sharing Redis (as two processes would): a setting saved through one shows on the other's
next request, and until something changes neither reads the store's row again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from emporium.app import create_app
from tests.admin.conftest import csrf_of, new_staff_client
from tests.conftest import MakeContext
from tests.support import asgi_client, count_statements

# A database of its own: the catalog cache tests empty theirs (14).
REDIS_DB = "redis://127.0.0.1:6379/12"


@pytest.fixture
async def redis_db() -> AsyncIterator[str]:
    client: Redis = Redis.from_url(REDIS_DB)
    try:
        await client.ping()
    except OSError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    await client.flushdb()
    yield REDIS_DB
    await client.flushdb()
    await client.aclose()


async def test_a_setting_saved_on_one_instance_shows_on_the_other_at_once(
    make_committed_context: MakeContext, redis_db: str
) -> None:
    first = make_committed_context(redis_url=redis_db)
    second = make_committed_context(redis_url=redis_db)
    owner = await new_staff_client(first, "super_admin")
    try:
        async with asgi_client(create_app(ctx=second)) as shop:
            assert f"<title>{second.settings.shop_name}</title>" in (await shop.get("/")).text
            with count_statements(second.db.engine, second.db.direct_reads) as statements:
                await shop.get("/api/v1/payments/methods")
            assert statements == []

            form = await owner.get("/admin/settings")
            saved = await owner.post(
                "/admin/settings", data={"csrf_token": csrf_of(form.text), "name": "Corner Sweets"}
            )
            assert saved.status_code == 303

            assert "<title>Corner Sweets</title>" in (await shop.get("/")).text
            with count_statements(second.db.engine, second.db.direct_reads) as statements:
                await shop.get("/api/v1/payments/methods")
            assert statements == []
    finally:
        await owner.aclose()
