"""Inventory API (seed 003): pools per variant, stock counts, adjustments and the low-stock list."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from emporium.core.context import AppContext
from emporium.inventory.models import StockAdjustment, StockPool
from emporium.inventory.service import low_stock_pools
from tests.conftest import Shopper
from tests.inventory.factory import make_pool, make_product, staff_headers
from tests.support import data, error

API = "/api/v1/inventory"


async def _sweets(ctx: AppContext) -> tuple[int, int, list[int]]:
    """Kaju katli in 250 g, 500 g and 1 kg boxes drawing from one pool counted in grams."""
    async with ctx.db.session() as session:
        pool = await make_pool(session, "Kaju katli", unit="g", on_hand=1750, reserved=250, threshold=2000)
        made = await make_product(
            session, "Kaju Katli", prices=("5.00", "9.50", "18.00"), pool=pool, draws=(250, 500, 1000)
        )
        return made.product.id, pool.id, [v.id for v in made.variants]


async def _pool_row(ctx: AppContext, pool_id: int) -> StockPool:
    async with ctx.db.session() as session:
        pool = await session.get(StockPool, pool_id)
        assert pool is not None
        return pool


async def _adjustment_rows(ctx: AppContext, pool_id: int) -> list[StockAdjustment]:
    async with ctx.db.session() as session:
        rows = await session.execute(
            select(StockAdjustment).where(StockAdjustment.pool_id == pool_id).order_by(StockAdjustment.id)
        )
        return list(rows.scalars())


@pytest.fixture
async def staff(client: httpx.AsyncClient, ctx: AppContext) -> dict[str, str]:
    return await staff_headers(client, ctx)


async def test_product_inventory_shows_each_variant_with_its_shared_gram_pool(
    client: httpx.AsyncClient, ctx: AppContext, staff: dict[str, str]
) -> None:
    product_id, pool_id, variant_ids = await _sweets(ctx)

    body = data(await client.get(f"{API}/product/{product_id}", headers=staff))

    assert body["product_id"] == product_id
    assert [v["variant_id"] for v in body["variants"]] == variant_ids
    assert [v["draw_per_unit"] for v in body["variants"]] == [250, 500, 1000]
    # 1750 g on hand, 250 g reserved: 1500 g can be sold as six 250 g, three 500 g or one 1 kg box.
    assert [v["units_available"] for v in body["variants"]] == [6, 3, 1]
    pool = body["variants"][0]["pool"]
    assert pool == {
        "id": pool_id,
        "name": "Kaju katli",
        "unit": "g",
        "on_hand": 1750,
        "reserved": 250,
        "available": 1500,
        "low_stock_threshold": 2000,
        "low_stock": True,
    }


async def test_inventory_routes_need_the_inventory_permission(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    product_id, pool_id, _ = await _sweets(ctx)
    moderator = await staff_headers(client, ctx, "mod@example.com", role="moderator")
    body = {"pools": [{"pool_id": pool_id, "on_hand": 5000, "reason": "recount"}]}
    calls = [
        ("GET", f"{API}/product/{product_id}", None),
        ("PUT", f"{API}/product/{product_id}", body),
        ("POST", f"{API}/pools/{pool_id}/adjustments", {"delta": 5, "reason": "found"}),
        ("GET", f"{API}/pools/{pool_id}/adjustments", None),
        ("GET", f"{API}/low-stock", None),
    ]
    for method, url, payload in calls:
        error(await client.request(method, url, json=payload), 401)
        error(await client.request(method, url, json=payload, headers=shopper.headers), 403)
        error(await client.request(method, url, json=payload, headers=moderator), 403)
    assert (await _pool_row(ctx, pool_id)).on_hand == 1750


async def test_set_on_hand_records_who_how_much_and_why(
    client: httpx.AsyncClient, ctx: AppContext, staff: dict[str, str]
) -> None:
    product_id, pool_id, _ = await _sweets(ctx)

    body = data(
        await client.put(
            f"{API}/product/{product_id}",
            json={"pools": [{"pool_id": pool_id, "on_hand": 5000, "reason": "recount"}]},
            headers=staff,
        )
    )

    assert body["variants"][2]["pool"]["on_hand"] == 5000
    assert body["variants"][2]["units_available"] == 4  # (5000 - 250) // 1000
    assert body["variants"][2]["pool"]["low_stock"] is False
    [adjustment] = await _adjustment_rows(ctx, pool_id)
    assert (adjustment.delta, adjustment.on_hand_after, adjustment.reason) == (3250, 5000, "recount")
    assert adjustment.actor_user_id is not None
    me = data(await client.get("/api/v1/users/profile", headers=staff))
    assert adjustment.actor_user_id == me["id"]


async def test_set_on_hand_never_below_reserved_and_all_or_nothing(
    client: httpx.AsyncClient, ctx: AppContext, staff: dict[str, str]
) -> None:
    async with ctx.db.session() as session:
        made = await make_product(session, "Tee", prices=("10.00", "12.00"), on_hand=20, reserved=5)
    first, second = (pool.id for pool in made.pools)

    err = error(
        await client.put(
            f"{API}/product/{made.product.id}",
            json={"pools": [{"pool_id": first, "on_hand": 7}, {"pool_id": second, "on_hand": 4}]},
            headers=staff,
        ),
        409,
    )

    assert err["code"] == "STOCK_BELOW_RESERVED"
    assert err["details"][0]["field"] == "pools.1.on_hand"
    assert (await _pool_row(ctx, first)).on_hand == 20  # the first change was rolled back with the second
    assert (await _pool_row(ctx, second)).on_hand == 20
    assert await _adjustment_rows(ctx, first) == []
    # Down to exactly the reserved quantity is allowed.
    body = data(
        await client.put(
            f"{API}/product/{made.product.id}",
            json={"pools": [{"pool_id": second, "on_hand": 5}]},
            headers=staff,
        )
    )
    assert body["variants"][1]["units_available"] == 0


async def test_set_on_hand_refuses_a_pool_of_another_product(
    client: httpx.AsyncClient, ctx: AppContext, staff: dict[str, str]
) -> None:
    product_id, _, _ = await _sweets(ctx)
    async with ctx.db.session() as session:
        other = await make_product(session, "Other", on_hand=3)
    stranger = other.pools[0].id

    err = error(
        await client.put(
            f"{API}/product/{product_id}",
            json={"pools": [{"pool_id": stranger, "on_hand": 99}]},
            headers=staff,
        ),
        422,
    )

    assert err["code"] == "POOL_NOT_IN_PRODUCT"
    assert err["details"] == [
        {"field": "pools.0.pool_id", "message": "This pool does not belong to the product."}
    ]
    assert (await _pool_row(ctx, stranger)).on_hand == 3


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"pools": []},
        {"pools": "all"},
        {"pools": [{"pool_id": 1}]},
        {"pools": [{"pool_id": "x", "on_hand": 1}]},
        {"pools": [{"pool_id": 1, "on_hand": -1}]},
        {"pools": [{"pool_id": 1, "on_hand": 1.5}]},
        {"pools": [{"pool_id": 1, "on_hand": True}]},
        {"pools": [{"pool_id": 1, "on_hand": 10**30}]},
        {"pools": [{"pool_id": 2**63, "on_hand": 1}]},
        {"pools": [{"pool_id": 0, "on_hand": 1}]},
        {"pools": [{"pool_id": 1, "on_hand": 1, "reason": "x" * 10_000}]},
        {"pools": [{"pool_id": 1, "on_hand": 1, "reason": "a\x00b"}]},
        {"pools": [{"pool_id": 1, "on_hand": 1, "reason": "   "}]},
        {"pools": [{"pool_id": 1, "on_hand": 1}, {"pool_id": 1, "on_hand": 2}]},
        {"pools": [{"pool_id": 1, "on_hand": 1, "sneaky": True}]},
    ],
)
async def test_set_on_hand_refuses_malformed_bodies(
    client: httpx.AsyncClient, ctx: AppContext, staff: dict[str, str], body: object
) -> None:
    product_id, pool_id, _ = await _sweets(ctx)
    assert error(await client.put(f"{API}/product/{product_id}", json=body, headers=staff), 422)["code"] == (
        "VALIDATION_ERROR"
    )
    assert (await _pool_row(ctx, pool_id)).on_hand == 1750


@pytest.mark.parametrize("product_id", ["0", "-1", "abc", str(2**63), "1e3", "9" * 400])
async def test_bad_product_ids_are_422(
    client: httpx.AsyncClient, staff: dict[str, str], product_id: str
) -> None:
    error(await client.get(f"{API}/product/{product_id}", headers=staff), 422)
    error(await client.get(f"{API}/pools/{product_id}/adjustments", headers=staff), 422)


async def test_unknown_product_or_pool_is_404(client: httpx.AsyncClient, staff: dict[str, str]) -> None:
    missing = 2**63 - 1
    assert (
        error(await client.get(f"{API}/product/{missing}", headers=staff), 404)["code"] == "PRODUCT_NOT_FOUND"
    )
    put = await client.put(
        f"{API}/product/{missing}", json={"pools": [{"pool_id": 1, "on_hand": 1}]}, headers=staff
    )
    assert error(put, 404)["code"] == "PRODUCT_NOT_FOUND"
    post = await client.post(
        f"{API}/pools/{missing}/adjustments", json={"delta": 1, "reason": "x"}, headers=staff
    )
    assert error(post, 404)["code"] == "POOL_NOT_FOUND"
    assert error(await client.get(f"{API}/pools/{missing}/adjustments", headers=staff), 404)["code"] == (
        "POOL_NOT_FOUND"
    )


async def test_malformed_json_is_400(
    client: httpx.AsyncClient, ctx: AppContext, staff: dict[str, str]
) -> None:
    product_id, pool_id, _ = await _sweets(ctx)
    headers = {**staff, "Content-Type": "application/json"}
    error(await client.put(f"{API}/product/{product_id}", content=b'{"pools": [', headers=headers), 400)
    error(await client.post(f"{API}/pools/{pool_id}/adjustments", content=b"\xff\xfe", headers=headers), 400)


async def test_adjustments_move_stock_and_keep_a_paginated_history(
    client: httpx.AsyncClient, ctx: AppContext, staff: dict[str, str]
) -> None:
    _, pool_id, _ = await _sweets(ctx)
    url = f"{API}/pools/{pool_id}/adjustments"

    first = data(await client.post(url, json={"delta": 500, "reason": "delivery"}, headers=staff), 201)
    second = data(await client.post(url, json={"delta": -250, "reason": "damaged box"}, headers=staff), 201)
    third = data(await client.post(url, json={"delta": 1000, "reason": "delivery"}, headers=staff), 201)

    assert (first["on_hand_after"], second["on_hand_after"], third["on_hand_after"]) == (2250, 2000, 3000)
    assert first["actor_user_id"] is not None
    assert (await _pool_row(ctx, pool_id)).on_hand == 3000
    response = await client.get(url, params={"page": 1, "limit": 2}, headers=staff)
    page_one = response.json()
    assert page_one["pagination"] == {"page": 1, "limit": 2, "total": 3, "pages": 2, "total_exact": True}
    assert [a["id"] for a in page_one["data"]] == [third["id"], second["id"]]
    page_two = data(await client.get(url, params={"page": 2, "limit": 2}, headers=staff))
    assert [(a["delta"], a["reason"]) for a in page_two] == [(500, "delivery")]
    assert data(await client.get(url, params={"page": 9}, headers=staff)) == []
    for params in ({"page": 0}, {"page": -1}, {"limit": 0}, {"limit": 10**6}, {"page": "x"}):
        error(await client.get(url, params=params, headers=staff), 422)


async def test_adjustment_never_takes_stock_below_reserved_or_zero(
    client: httpx.AsyncClient, ctx: AppContext, staff: dict[str, str]
) -> None:
    _, pool_id, _ = await _sweets(ctx)  # 1750 on hand, 250 reserved
    url = f"{API}/pools/{pool_id}/adjustments"

    err = error(await client.post(url, json={"delta": -1501, "reason": "spoiled"}, headers=staff), 409)
    assert err["code"] == "STOCK_BELOW_RESERVED"
    assert (await _pool_row(ctx, pool_id)).on_hand == 1750
    assert await _adjustment_rows(ctx, pool_id) == []

    done = data(await client.post(url, json={"delta": -1500, "reason": "spoiled"}, headers=staff), 201)
    assert done["on_hand_after"] == 250
    async with ctx.db.session() as session:
        empty = await make_pool(session, "Empty", on_hand=0)
    err = error(
        await client.post(
            f"{API}/pools/{empty.id}/adjustments", json={"delta": -1, "reason": "x"}, headers=staff
        ),
        409,
    )
    assert err["code"] == "STOCK_BELOW_RESERVED"


@pytest.mark.parametrize(
    "body",
    [
        {"delta": 0, "reason": "nothing"},
        {"delta": 5},
        {"reason": "no delta"},
        {"delta": "5", "reason": "string"},
        {"delta": 2.5, "reason": "half"},
        {"delta": 10**16, "reason": "too much"},
        {"delta": -(10**16), "reason": "too little"},
        {"delta": 1, "reason": "x" * 10_000},
        {"delta": 1, "reason": "\x00"},
        {"delta": 1, "reason": ""},
        [1, 2],
        "delta",
    ],
)
async def test_adjustment_refuses_malformed_bodies(
    client: httpx.AsyncClient, ctx: AppContext, staff: dict[str, str], body: object
) -> None:
    _, pool_id, _ = await _sweets(ctx)
    error(await client.post(f"{API}/pools/{pool_id}/adjustments", json=body, headers=staff), 422)
    assert (await _pool_row(ctx, pool_id)).on_hand == 1750


async def test_low_stock_lists_pools_at_or_under_their_threshold(
    client: httpx.AsyncClient, ctx: AppContext, staff: dict[str, str]
) -> None:
    async with ctx.db.session() as session:
        at = await make_pool(session, "At threshold", on_hand=15, reserved=5, threshold=10)
        under = await make_pool(session, "Under", on_hand=2, threshold=5)
        await make_pool(session, "Plenty", on_hand=100, reserved=10, threshold=50)
        await make_pool(session, "Just over", on_hand=11, threshold=10)
        made = await make_product(session, "Cotton Socks", pool=under, prices=("4.00", "7.00"), draws=(1, 2))

    body = (await client.get(f"{API}/low-stock", headers=staff)).json()

    assert [pool["id"] for pool in body["data"]] == [under.id, at.id]
    assert body["pagination"]["total"] == 2
    assert body["data"][0]["available"] == 2
    assert body["data"][0]["low_stock"] is True
    assert body["data"][0]["products"] == [
        {"id": made.product.id, "name": "Cotton Socks", "slug": made.product.slug}
    ]
    assert body["data"][1]["products"] == []
    async with ctx.db.session() as session:
        assert [pool.id for pool in await low_stock_pools(session)] == [under.id, at.id]
        assert [pool.id for pool in await low_stock_pools(session, limit=1, offset=1)] == [at.id]
