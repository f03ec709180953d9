from __future__ import annotations

import httpx

from tests.conftest import Shopper
from tests.support import data


async def test_health(client: httpx.AsyncClient) -> None:
    assert data(await client.get("/health")) == {"status": "ok"}
    assert data(await client.get("/health/ready"))["status"] == "ready"


async def test_profile_of_new_shopper(shopper: Shopper, client: httpx.AsyncClient) -> None:
    profile = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    assert profile["email"] == "ada@example.com"
    assert profile["role"] == "customer"
