"""The staff's low-stock notice: once per crossing of the threshold, again only after a restock above it."""

from __future__ import annotations

import httpx

from emporium.core.context import AppContext
from emporium.core.permissions import Permission
from emporium.inventory.service import inventory
from tests.inventory.factory import make_product, staff_headers
from tests.journeys.helpers import planned
from tests.support import data

API = "/api/v1"


async def test_a_pool_crossing_its_threshold_tells_staff_once_until_restocked(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        pool = await inventory.open_pool(
            session,
            name="Linen",
            unit="pc",
            on_hand=10,
            low_stock_threshold=3,
            reason="new",
            actor_user_id=None,
        )
        await make_product(session, "Linen towel", prices=("8.00",), pool=pool)
    staff = await staff_headers(client, ctx)

    async def adjust(delta: int) -> None:
        body = {"delta": delta, "reason": "count"}
        data(await client.post(f"{API}/inventory/pools/{pool.id}/adjustments", json=body, headers=staff), 201)

    await adjust(-6)  # 10 -> 4: above the threshold
    assert await planned(ctx, "staff.low_stock") == []
    await adjust(-1)  # 4 -> 3: at the threshold, the crossing
    [told] = await planned(ctx, "staff.low_stock")
    assert told["staff_permission"] == Permission.INVENTORY_WRITE == "inventory:write"
    assert told["recipients"] == []  # staff are found when the job plans it
    assert told["context"] == {
        "pool_id": str(pool.id),
        "pool_name": "Linen",
        "available": "3",
        "threshold": "3",
        "unit": "pc",
    }
    await adjust(-2)  # 3 -> 1: still low, nothing new
    await adjust(1)  # 1 -> 2: still low
    assert len(await planned(ctx, "staff.low_stock")) == 1
    await adjust(8)  # 2 -> 10: restocked above, armed again (and nothing said)
    assert len(await planned(ctx, "staff.low_stock")) == 1
    await adjust(-9)  # 10 -> 1: a new crossing
    second = await planned(ctx, "staff.low_stock")
    assert len(second) == 2
    assert second[0]["key"] != second[1]["key"]
    assert second[1]["context"]["available"] == "1"


async def test_a_threshold_raised_above_the_stock_is_a_crossing_too(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        pool = await inventory.open_pool(
            session,
            name="Wool",
            unit="pc",
            on_hand=5,
            low_stock_threshold=0,
            reason="new",
            actor_user_id=None,
        )
        await inventory.set_threshold(session, pool.id, 6)
        await inventory.set_threshold(session, pool.id, 7)
    assert len(await planned(ctx, "staff.low_stock")) == 1


async def test_a_new_empty_pool_is_not_a_crossing(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        await inventory.open_pool(
            session,
            name="Silk",
            unit="pc",
            on_hand=0,
            low_stock_threshold=2,
            reason="new",
            actor_user_id=None,
        )
    assert await planned(ctx, "staff.low_stock") == []
