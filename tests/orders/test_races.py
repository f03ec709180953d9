"""Checkouts racing for the same stock, coupon or idempotency key: the database rules, nothing oversells.

Every request here really commits (``make_committed_context``) and all of them start together.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from emporium.app import create_app
from emporium.catalog.models import ProductVariant
from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from emporium.orders.models import Order
from emporium.pricing.models import Coupon
from tests.conftest import MakeContext
from tests.core.processes import EMPORIUM, background, output_of, process_env
from tests.inventory.factory import make_pool, make_product
from tests.orders.factory import make_cart, make_coupon, make_shipping, order_body
from tests.support import asgi_client, free_port

POSTGRES_ONLY = pytest.mark.skipif(
    not os.environ.get("EMPORIUM_DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL: separate processes sharing one SQLite file prove nothing more",
)


async def _carts(
    ctx: AppContext, items: list[tuple[ProductVariant, int]], count: int, **kw: object
) -> list[str]:
    async with ctx.db.session() as session:
        return [await make_cart(session, items, **kw) for _ in range(count)]  # type: ignore[arg-type]


async def _pool(ctx: AppContext, pool_id: int) -> StockPool:
    async with ctx.db.session() as session:
        pool = await session.get(StockPool, pool_id)
        assert pool is not None
        return pool


async def _orders(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(Order))).scalar_one())


async def _race(
    client: httpx.AsyncClient, tokens: list[str], body: dict[str, object]
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(client.post("/api/v1/orders", json=body, headers={"X-Cart-Token": token}) for token in tokens)
        )
    )


def _outcome(responses: list[httpx.Response]) -> tuple[int, set[int]]:
    placed = sum(r.status_code == 201 for r in responses)
    assert all(r.status_code in {201, 409, 422} for r in responses), [
        r.text for r in responses if r.status_code >= 500
    ]
    return placed, {r.status_code for r in responses}


async def test_fifty_buyers_for_ten_units_make_exactly_ten_orders(
    make_committed_context: MakeContext,
) -> None:
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        made = await make_product(session, "Last ten", prices=("9.00",), on_hand=10)
        method = await make_shipping(session)
    tokens = await _carts(ctx, [(made.variants[0], 1)], 50)
    async with asgi_client(create_app(ctx=ctx)) as client:
        responses = await _race(client, tokens, order_body(method.id))
    placed, _ = _outcome(responses)
    assert placed == 10
    pool = await _pool(ctx, made.pools[0].id)
    assert (pool.on_hand, pool.reserved) == (10, 10)
    assert await _orders(ctx) == 10
    refused = {r.json()["error"]["code"] for r in responses if r.status_code != 201}
    assert refused <= {"INSUFFICIENT_STOCK", "CART_NOT_PURCHASABLE"}


async def test_two_box_sizes_racing_on_one_gram_pool_never_overdraw(
    make_committed_context: MakeContext,
) -> None:
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        grams = await make_pool(session, "Kaju katli", unit="g", on_hand=5000)
        sweet = await make_product(
            session, "Kaju katli", prices=("5.00", "9.00"), pool=grams, draws=(250, 500)
        )
        method = await make_shipping(session)
    # Each cart takes 250 g + 500 g = 750 g: six fit in 5000 g (4500 g), the seventh does not.
    tokens = await _carts(ctx, [(sweet.variants[0], 1), (sweet.variants[1], 1)], 30)
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed, _ = _outcome(await _race(client, tokens, order_body(method.id)))
    assert placed == 6
    pool = await _pool(ctx, grams.id)
    assert (pool.on_hand, pool.reserved) == (5000, 4500)


async def test_carts_holding_two_variants_in_opposite_order_do_not_deadlock(
    make_committed_context: MakeContext,
) -> None:
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        left = await make_product(session, "Left", prices=("1.00",), on_hand=40)
        right = await make_product(session, "Right", prices=("1.00",), on_hand=40)
        method = await make_shipping(session)
    forward = await _carts(ctx, [(left.variants[0], 1), (right.variants[0], 1)], 20)
    backward = await _carts(ctx, [(right.variants[0], 1), (left.variants[0], 1)], 20)
    mixed = [token for pair in zip(forward, backward, strict=True) for token in pair]
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed, statuses = _outcome(await asyncio.wait_for(_race(client, mixed, order_body(method.id)), 120))
    assert (placed, statuses) == (40, {201})
    assert (await _pool(ctx, left.pools[0].id)).reserved == 40
    assert (await _pool(ctx, right.pools[0].id)).reserved == 40


async def test_a_single_use_coupon_discounts_exactly_one_of_twenty_checkouts(
    make_committed_context: MakeContext,
) -> None:
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        made = await make_product(session, "Coupon rush", prices=("10.00",), on_hand=100)
        method = await make_shipping(session)
        await make_coupon(session, "ONLYONCE", usage_limit=1)
    tokens = await _carts(ctx, [(made.variants[0], 1)], 20, coupon_code="ONLYONCE")
    async with asgi_client(create_app(ctx=ctx)) as client:
        responses = await _race(client, tokens, order_body(method.id))
    discounted = [
        r for r in responses if r.status_code == 201 and r.json()["data"]["coupon_code"] == "ONLYONCE"
    ]
    assert len(discounted) == 1
    refused = [r.json()["error"]["code"] for r in responses if r.status_code != 201]
    assert set(refused) <= {"COUPON_EXHAUSTED", "COUPON_NOT_APPLICABLE"}
    assert len(refused) == 19
    async with ctx.db.session() as session:
        coupon = (await session.execute(select(Coupon).where(Coupon.code == "ONLYONCE"))).scalar_one()
        assert coupon.used_count == 1
    # The refused checkouts left no reservation behind.
    assert (await _pool(ctx, made.pools[0].id)).reserved == 1


async def test_twenty_requests_with_one_idempotency_key_make_one_order(
    make_committed_context: MakeContext,
) -> None:
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        made = await make_product(session, "Double click", prices=("10.00",), on_hand=100)
        method = await make_shipping(session)
    [token] = await _carts(ctx, [(made.variants[0], 3)], 1)
    headers = {"X-Cart-Token": token, "Idempotency-Key": "double-click-0000001"}
    async with asgi_client(create_app(ctx=ctx)) as client:
        responses = await asyncio.gather(
            *(client.post("/api/v1/orders", json=order_body(method.id), headers=headers) for _ in range(20))
        )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201]
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert await _orders(ctx) == 1
    assert (await _pool(ctx, made.pools[0].id)).reserved == 3


@POSTGRES_ONLY
async def test_two_app_processes_on_one_database_never_oversell(
    make_committed_context: MakeContext, tmp_path: Path
) -> None:
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        made = await make_product(session, "Two processes", prices=("9.00",), on_hand=10)
        method = await make_shipping(session)
    tokens = await _carts(ctx, [(made.variants[0], 1)], 50)
    env = process_env(ctx.settings)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    ports = [free_port(), free_port()]
    async with (
        background([EMPORIUM, "serve", "--port", str(ports[0])], env, tmp_path / "a") as _a,
        background([EMPORIUM, "serve", "--port", str(ports[1])], env, tmp_path / "b") as _b,
    ):
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        async with httpx.AsyncClient(timeout=60) as http:
            for base in bases:
                # Up to a minute: two servers importing everything on two busy cores start slowly.
                for _ in range(300):
                    try:
                        if (await http.get(f"{base}/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.2)
                else:
                    raise AssertionError(output_of(tmp_path / ("a" if base == bases[0] else "b")))
            responses = await asyncio.gather(
                *(
                    http.post(
                        f"{bases[i % 2]}/api/v1/orders",
                        json=order_body(method.id),
                        headers={"X-Cart-Token": token},
                    )
                    for i, token in enumerate(tokens)
                )
            )
    placed, _ = _outcome(list(responses))
    assert placed == 10
    pool = await _pool(ctx, made.pools[0].id)
    assert (pool.on_hand, pool.reserved) == (10, 10)
