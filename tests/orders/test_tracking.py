"""Guests follow an order by its number plus the phone or e-mail given at checkout; nothing else leaks."""

from __future__ import annotations

import httpx
import pytest

from emporium.app import create_app
from emporium.core.context import AppContext
from tests.conftest import MakeContext
from tests.inventory.factory import make_product
from tests.orders.factory import make_cart, make_shipping, order_body
from tests.support import asgi_client, data, error


async def _guest_order(client: httpx.AsyncClient, ctx: AppContext) -> dict[str, object]:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Tracked tee", prices=("10.00",))
        method = await make_shipping(session)
        token = await make_cart(session, [(tee.variants[0], 1)])
    order: dict[str, object] = data(
        await client.post("/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": token}), 201
    )
    return order


@pytest.mark.parametrize("phone", ["+1 (202) 555-0143", "+12025550143", "1-202-555-0143"])
async def test_the_right_number_and_phone_show_the_order(
    client: httpx.AsyncClient, ctx: AppContext, phone: str
) -> None:
    order = await _guest_order(client, ctx)
    tracked = data(
        await client.get("/api/v1/orders/track", params={"order_number": order["number"], "phone": phone})
    )
    assert tracked["number"] == order["number"]
    assert tracked["status"] == "pending"
    assert tracked["lines"] == [{"name": "Tracked tee", "variant": "Tracked tee #1", "quantity": 1}]
    assert "shipping_address" not in tracked
    assert "contact" not in tracked


async def test_the_email_works_too_in_any_case(client: httpx.AsyncClient, ctx: AppContext) -> None:
    order = await _guest_order(client, ctx)
    params = {"order_number": str(order["number"]).lower(), "email": "GRACE@example.com"}
    assert data(await client.get("/api/v1/orders/track", params=params))["number"] == order["number"]


async def test_a_wrong_phone_looks_like_an_unknown_order(client: httpx.AsyncClient, ctx: AppContext) -> None:
    order = await _guest_order(client, ctx)
    wrong = error(
        await client.get(
            "/api/v1/orders/track", params={"order_number": order["number"], "phone": "+1 202 555 0199"}
        ),
        404,
    )
    unknown = error(
        await client.get(
            "/api/v1/orders/track", params={"order_number": "ORD-2026-999999", "phone": "+12025550143"}
        ),
        404,
    )
    assert wrong == unknown
    for params in (
        {"order_number": order["number"]},
        {"order_number": order["number"], "phone": "+12025550143", "email": "grace@example.com"},
        {"order_number": "'; DROP TABLE orders;--", "phone": "+12025550143"},
        {"order_number": order["number"], "phone": "1" * 500},
    ):
        assert error(await client.get("/api/v1/orders/track", params=params), 422)


async def test_tracking_is_rate_limited(make_context: MakeContext) -> None:
    ctx = make_context(order_track_rate_limit="3/minute")
    async with asgi_client(create_app(ctx=ctx)) as client:
        order = await _guest_order(client, ctx)
        params = {"order_number": order["number"], "phone": "+10000000000"}
        for _ in range(3):
            error(await client.get("/api/v1/orders/track", params=params), 404)
        limited = await client.get("/api/v1/orders/track", params={**params, "phone": "+12025550143"})
        assert error(limited, 429)["code"] == "RATE_LIMITED"
        assert int(limited.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/orders/track?order_number=ORD-2026-000001&email=a%00b@example.com",
        "/api/v1/orders/track?order_number=ORD-2026-000001&phone=%2B1%00555000111",
        "/api/v1/cart?country=US&region=N%00Y",
        "/api/v1/orders/track?order_number=ORD%002026&phone=%2B15550001111",
    ],
)
async def test_nul_in_a_query_string_is_refused(client: httpx.AsyncClient, url: str) -> None:
    assert error(await client.get(url), 422)["code"] == "VALIDATION_ERROR"
