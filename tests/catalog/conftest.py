"""Fixtures of the catalog tests: signed-in staff and a customer, and shortcuts to build a catalog."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emporium.accounts.service import auth
from emporium.core.context import AppContext
from tests.conftest import sign_up
from tests.support import STRONG_PASSWORD, bearer, data

API = "/api/v1"


async def staff_headers(client: httpx.AsyncClient, ctx: AppContext, email: str, role: str) -> dict[str, str]:
    async with ctx.db.session() as session:
        await auth.create_user(session, ctx, email=email, password=STRONG_PASSWORD, role=role)
    tokens = data(await client.post(f"{API}/auth/login", json={"email": email, "password": STRONG_PASSWORD}))
    return bearer(str(tokens["access_token"]))


@pytest.fixture
async def admin(client: httpx.AsyncClient, ctx: AppContext) -> dict[str, str]:
    return await staff_headers(client, ctx, "admin@shop.test", "admin")


@pytest.fixture
async def customer(client: httpx.AsyncClient) -> dict[str, str]:
    return (await sign_up(client, "buyer@example.com")).headers


class Shop:
    """Builds catalog objects through the admin API."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers
        self.made = 0

    async def category(self, name: str, parent_id: int | None = None, **extra: Any) -> dict[str, Any]:
        body = {"name": name, "parent_id": parent_id, **extra}
        result: dict[str, Any] = data(
            await self.client.post(f"{API}/categories", json=body, headers=self.headers), 201
        )
        return result

    async def brand(self, name: str, **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = data(
            await self.client.post(f"{API}/brands", json={"name": name, **extra}, headers=self.headers), 201
        )
        return result

    async def product(
        self, name: str, price: str | None = "10.00", *, on_hand: int = 5, **extra: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "status": "active", **extra}
        if price is not None and "variants" not in body:
            self.made += 1
            sku = f"SKU-{self.made}-" + "".join(ch for ch in name.upper() if ch.isalnum())[:40]
            body["variants"] = [{"sku": sku, "price": price, "stock": {"on_hand": on_hand}}]
        result: dict[str, Any] = data(
            await self.client.post(f"{API}/products", json=body, headers=self.headers), 201
        )
        return result

    async def variant(self, product_id: int, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = data(
            await self.client.post(f"{API}/products/{product_id}/variants", json=body, headers=self.headers),
            201,
        )
        return result


@pytest.fixture
def shop(client: httpx.AsyncClient, admin: dict[str, str]) -> Shop:
    return Shop(client, admin)
