"""POST /orders with ``expected_total``: the total a client showed is charged, or nothing happens."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from emporium.core.context import AppContext
from emporium.core.idempotency_models import IdempotencyKey
from emporium.inventory.models import StockPool
from emporium.orders.models import Order
from tests.inventory.factory import make_product
from tests.orders.factory import make_cart, make_shipping, make_tax, order_body, usd
from tests.support import data, error

pytestmark = pytest.mark.asyncio


async def _reserved(ctx: AppContext, pool_id: int) -> int:
    async with ctx.db.session() as session:
        pool = await session.get(StockPool, pool_id, populate_existing=True)
        assert pool is not None
        return pool.reserved


async def _orders(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(Order))).scalar_one())


async def test_a_stale_expected_total_places_nothing_and_returns_the_new_quote(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Expected tee", prices=("29.17",), on_hand=5)
        standard = await make_shipping(session, price="0.00", name="Standard")
        express = await make_shipping(session, price="19.99", name="Express")
        token = await make_cart(session, [(tee.variants[0], 1)])
    headers = {"X-Cart-Token": token, "Idempotency-Key": "expected-total-0001"}
    orders_before = await _orders(ctx)

    # The client showed Standard's total (29.17) but sends Express: refused, nothing reserved or written.
    stale = order_body(express.id, expected_total="29.17")
    err = error(await client.post("/api/v1/orders", json=stale, headers=headers), 409)
    assert err["code"] == "PRICE_CHANGED"
    quote = {d["field"]: d for d in err["details"]}
    assert quote["total"]["value"] == "49.16"
    assert quote["shipping"]["value"] == "19.99"
    assert quote["shipping_method_id"]["value"] == express.id
    assert quote[f"items.{tee.variants[0].id}"]["unit_price"] == "29.17"
    assert await _reserved(ctx, tee.pools[0].id) == 0
    assert await _orders(ctx) == orders_before
    async with ctx.db.session() as session:
        keys = (
            select(func.count())
            .select_from(IdempotencyKey)
            .where(IdempotencyKey.key == "expected-total-0001")
        )
        assert (await session.execute(keys)).scalar_one() == 0

    # The same key is not used up: with the total it now shows, the client places the order.
    fresh = order_body(express.id, expected_total="49.16")
    order = data(await client.post("/api/v1/orders", json=fresh, headers=headers), 201)
    assert order["totals"]["total"] == "49.16"
    assert await _reserved(ctx, tee.pools[0].id) == 1
    assert standard.id != express.id


async def test_expected_total_matches_with_tax_and_is_optional(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Taxed tee", prices=("10.00",), on_hand=5)
        method = await make_shipping(session, price="5.00")
        await make_tax(session, "US", "10")
        with_total = await make_cart(session, [(tee.variants[0], 2)])
        without = await make_cart(session, [(tee.variants[0], 1)])

    # 2 x 10.00 + 10 % tax + 5.00 shipping = 27.00, written with or without trailing zeros.
    body = order_body(method.id, expected_total="27")
    assert data(await client.post("/api/v1/orders", json=body, headers={"X-Cart-Token": with_total}), 201)
    order = data(
        await client.post("/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": without}),
        201,
    )
    assert order["totals"]["total"] == "16.00"
    assert usd(order["totals"]["total"]) == 1600


@pytest.mark.parametrize("value", ["-1", "1e13", "abc", 12.5, "27.001", "NaN"])
async def test_a_malformed_expected_total_is_a_validation_error_or_a_mismatch(
    client: httpx.AsyncClient, ctx: AppContext, value: object
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, f"Odd total tee {value}", prices=("10.00",), on_hand=5)
        method = await make_shipping(session, price="5.00")
        token = await make_cart(session, [(tee.variants[0], 1)])
    response = await client.post(
        "/api/v1/orders", json=order_body(method.id, expected_total=value), headers={"X-Cart-Token": token}
    )
    # An amount more precise than the currency can never be what was shown: a refusal, not a 500.
    assert response.status_code in (409, 422), response.text
    assert error(response, response.status_code)["code"] in ("VALIDATION_ERROR", "PRICE_CHANGED")
    assert await _reserved(ctx, tee.pools[0].id) == 0
