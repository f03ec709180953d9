"""Acceptance test 5 of the scaled-out shape: the checkout races of tests/orders/test_races.py (the last
units, a gram pool, a single-use coupon, one idempotency key) sent through nginx to 3 app processes that
share PostgreSQL through PgBouncer in transaction mode; and the sign-in lockout and the per-address limit,
counted in Redis, hold across the processes for the client address nginx passes on."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import func, select

from emporium.accounts.service import auth
from emporium.core.context import build_context
from emporium.inventory.models import StockPool
from emporium.orders.models import Order
from emporium.pricing.models import Coupon
from emporium.settings import AppSettings
from tests.inventory.factory import make_pool, make_product
from tests.orders.factory import make_cart, make_coupon, make_shipping, order_body
from tests.support import STRONG_PASSWORD
from tests.topology.cluster_fixture import Cluster

ORDERS = "/api/v1/orders"
LOGIN = "/api/v1/auth/login"


async def _seed(cluster: Cluster, build: Any) -> Any:
    db = cluster.database()
    try:
        async with db.session() as session:
            return await build(session)
    finally:
        await db.dispose()


async def _pool(cluster: Cluster, pool_id: int) -> tuple[int, int]:
    pool = await _seed(cluster, lambda session: session.get(StockPool, pool_id))
    return pool.on_hand, pool.reserved


async def _race(
    http: httpx.AsyncClient, tokens: list[str], body: dict[str, object], key: str | None = None
) -> list[httpx.Response]:
    def headers(token: str) -> dict[str, str]:
        return {"X-Cart-Token": token, **({"Idempotency-Key": key} if key else {})}

    answers = await asyncio.gather(*(http.post(ORDERS, json=body, headers=headers(t)) for t in tokens))
    assert all(a.status_code in {201, 409, 422} for a in answers), [
        a.text for a in answers if a.status_code >= 500
    ]
    return list(answers)


def _placed(answers: list[httpx.Response]) -> int:
    return sum(a.status_code == 201 for a in answers)


async def test_fifty_buyers_for_ten_units_make_ten_orders_across_processes(cluster: Cluster) -> None:
    async def build(session: Any) -> Any:
        made = await make_product(session, f"Last ten {secrets.token_hex(3)}", prices=("9.00",), on_hand=10)
        method = await make_shipping(session)
        tokens = [await make_cart(session, [(made.variants[0], 1)]) for _ in range(50)]
        return made.pools[0].id, method.id, tokens

    pool_id, method_id, tokens = await _seed(cluster, build)
    async with cluster.client() as http:
        answers = await _race(http, tokens, order_body(method_id))
    assert _placed(answers) == 10
    assert await _pool(cluster, pool_id) == (10, 10)


async def test_two_box_sizes_on_one_gram_pool_never_overdraw_across_processes(cluster: Cluster) -> None:
    async def build(session: Any) -> Any:
        grams = await make_pool(session, "Kaju katli", unit="g", on_hand=5000)
        name = f"Kaju katli {secrets.token_hex(3)}"
        sweet = await make_product(session, name, prices=("5.00", "9.00"), pool=grams, draws=(250, 500))
        method = await make_shipping(session)
        items = [(sweet.variants[0], 1), (sweet.variants[1], 1)]
        return grams.id, method.id, [await make_cart(session, items) for _ in range(30)]

    pool_id, method_id, tokens = await _seed(cluster, build)
    async with cluster.client() as http:
        answers = await _race(http, tokens, order_body(method_id))
    # 750 g a cart: six fit in 5000 g.
    assert _placed(answers) == 6
    assert await _pool(cluster, pool_id) == (5000, 4500)


async def test_a_single_use_coupon_discounts_one_checkout_across_processes(cluster: Cluster) -> None:
    code = f"ONCE{secrets.token_hex(3).upper()}"

    async def build(session: Any) -> Any:
        made = await make_product(session, f"Coupon rush {code}", prices=("10.00",), on_hand=100)
        method = await make_shipping(session)
        await make_coupon(session, code, usage_limit=1)
        tokens = [await make_cart(session, [(made.variants[0], 1)], coupon_code=code) for _ in range(20)]
        return made.pools[0].id, method.id, tokens

    pool_id, method_id, tokens = await _seed(cluster, build)
    async with cluster.client() as http:
        answers = await _race(http, tokens, order_body(method_id))
    discounted = [a for a in answers if a.status_code == 201 and a.json()["data"]["coupon_code"] == code]
    assert len(discounted) == 1
    coupon = await _seed(cluster, lambda s: s.scalar(select(Coupon).where(Coupon.code == code)))
    assert coupon.used_count == 1
    assert (await _pool(cluster, pool_id))[1] == 1


async def test_twenty_requests_with_one_key_make_one_order_across_processes(cluster: Cluster) -> None:
    async def build(session: Any) -> Any:
        made = await make_product(
            session, f"Double click {secrets.token_hex(3)}", prices=("10.00",), on_hand=100
        )
        method = await make_shipping(session)
        return made.pools[0].id, method.id, await make_cart(session, [(made.variants[0], 3)])

    pool_id, method_id, token = await _seed(cluster, build)
    key = f"pooled-double-click-{secrets.token_hex(6)}"
    async with cluster.client() as http:
        answers = await _race(http, [token] * 20, order_body(method_id), key=key)
    assert {a.status_code for a in answers} == {201}
    ids = {a.json()["data"]["id"] for a in answers}
    assert len(ids) == 1
    orders = await _seed(
        cluster, lambda s: s.scalar(select(func.count()).select_from(Order).where(Order.id.in_(ids)))
    )
    assert orders == 1
    assert (await _pool(cluster, pool_id))[1] == 3


async def _create_customer(cluster: Cluster, email: str) -> None:
    settings = AppSettings(database_url=cluster.direct_url, argon2_memory_cost_kib=256, argon2_time_cost=1)
    ctx = build_context(settings)
    try:
        async with ctx.db.session() as session:
            await auth.create_user(session, ctx, email=email, password=STRONG_PASSWORD, role="customer")
    finally:
        await ctx.close()


async def test_the_lockout_and_the_address_limit_hold_across_processes(cluster: Cluster) -> None:
    email = f"ada-{secrets.token_hex(4)}@example.com"
    await _create_customer(cluster, email)
    wrong = {"email": email, "password": "not the password!"}

    # Each request on a connection of its own, so nginx spreads them over the processes; each from another
    # client (nginx appends its peer to X-Forwarded-For, the app believes nginx only).
    async def attempt(body: dict[str, str], client: str) -> httpx.Response:
        async with cluster.client() as http:
            return await http.post(LOGIN, json=body, headers={"X-Forwarded-For": client})

    net = secrets.randbelow(200)
    answers = await asyncio.gather(*(attempt(wrong, f"198.51.{net}.{n}") for n in range(10)))
    codes = Counter(a.json()["error"]["code"] for a in answers)
    # At most the 5 allowed guesses had their password checked, whichever process took them (an attempt
    # counted in the instant the lock is set may be refused too); every other one was refused.
    assert set(codes) <= {"INVALID_CREDENTIALS", "TOO_MANY_ATTEMPTS"}, [a.text for a in answers]
    assert 1 <= codes["INVALID_CREDENTIALS"] <= 5, codes
    assert codes["TOO_MANY_ATTEMPTS"] >= 5, codes
    locked = await attempt({**wrong, "password": STRONG_PASSWORD}, f"198.51.{net}.99")
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "TOO_MANY_ATTEMPTS"

    # The sign-in limit (20 a minute) is counted per client address in Redis, one count for all processes
    # (unknown addresses each time, so no lockout of an account answers instead).
    client = f"203.0.{net}.7"
    statuses = []
    for n in range(22):
        stranger = {"email": f"nobody-{net}-{n}@example.com", "password": "not the password!"}
        statuses.append((await attempt(stranger, client)).status_code)
    assert statuses == [401] * 20 + [429] * 2, statuses
    # Another client is not held back by the first one's count.
    other = await attempt({"email": f"nobody-{net}@example.com", "password": "x" * 12}, f"203.0.{net}.8")
    assert other.status_code == 401, other.text
