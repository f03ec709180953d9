"""Fixtures of the review tests: a product on sale, customers, a moderator and a support agent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emporium.core.context import AppContext
from tests.admin.conftest import staff_client  # noqa: F401  (the back office's signed-in staff)
from tests.conftest import Shopper, sign_up
from tests.inventory.factory import Made, make_product, staff_headers
from tests.support import data


@pytest.fixture
async def product(ctx: AppContext) -> Made:
    async with ctx.db.session() as session:
        return await make_product(session, "Reviewed kettle", prices=("30.00",))


@pytest.fixture
async def moderator(client: httpx.AsyncClient, ctx: AppContext) -> dict[str, str]:
    return await staff_headers(client, ctx, email="moderator@example.com", role="moderator")


@pytest.fixture
async def support(client: httpx.AsyncClient, ctx: AppContext) -> dict[str, str]:
    return await staff_headers(client, ctx, email="support@example.com", role="support")


async def customers(client: httpx.AsyncClient, n: int, prefix: str = "c") -> list[Shopper]:
    return [
        await sign_up(client, f"{prefix}{i}@example.com", first_name=f"Cust{i}", last_name="Omer")
        for i in range(n)
    ]


async def write(
    client: httpx.AsyncClient, who: Shopper, product_id: int, rating: int = 5, **fields: Any
) -> httpx.Response:
    body = {"rating": rating, "title": "Good", "body": "Works well.", **fields}
    return await client.post(f"/api/v1/products/{product_id}/reviews", json=body, headers=who.headers)


async def approve(client: httpx.AsyncClient, moderator: dict[str, str], review_id: int) -> dict[str, Any]:
    body = {"action": "approve", "note": ""}
    return data(await client.put(f"/api/v1/admin/reviews/{review_id}", json=body, headers=moderator))


async def summary(client: httpx.AsyncClient, product_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/products/{product_id}/reviews")
    assert response.status_code == 200, response.text
    return dict(response.json()["summary"])
