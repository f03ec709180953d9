"""Fixtures of the cache tests: an app with the catalog page cache on, a signed-in admin, and a small
catalog made through the admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from emporium.accounts.service import auth
from emporium.app import create_app
from emporium.core.context import AppContext
from tests.conftest import MakeContext
from tests.support import STRONG_PASSWORD, asgi_client, bearer, data

API = "/api/v1"
REDIS_DB = "redis://127.0.0.1:6379/14"


async def admin_headers(ctx: AppContext, client: httpx.AsyncClient, email: str) -> dict[str, str]:
    async with ctx.db.session() as session:
        await auth.create_user(session, ctx, email=email, password=STRONG_PASSWORD, role="admin")
    tokens = data(await client.post(f"{API}/auth/login", json={"email": email, "password": STRONG_PASSWORD}))
    return bearer(str(tokens["access_token"]))


@dataclass
class Shop:
    ctx: AppContext
    client: httpx.AsyncClient
    admin: dict[str, str]

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(f"{API}{path}", **kwargs)

    async def category(self, name: str) -> dict[str, Any]:
        body = {"name": name}
        result: dict[str, Any] = data(
            await self.client.post(f"{API}/categories", json=body, headers=self.admin), 201
        )
        return result

    async def product(self, name: str, sku: str, price: str = "10.00", **extra: Any) -> dict[str, Any]:
        body = {
            "name": name,
            "status": "active",
            "variants": [{"sku": sku, "price": price, "stock": {"on_hand": 5}}],
            **extra,
        }
        result: dict[str, Any] = data(
            await self.client.post(f"{API}/products", json=body, headers=self.admin), 201
        )
        return result


@pytest.fixture
async def shop(make_context: MakeContext, tmp_path: Path) -> AsyncIterator[Shop]:
    ctx = make_context(media_dir=str(tmp_path / "media"), catalog_cache_ttl_seconds=300)
    async with asgi_client(create_app(ctx=ctx)) as client:
        yield Shop(ctx, client, await admin_headers(ctx, client, "cache-admin@example.com"))
