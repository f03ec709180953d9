"""Concurrent adjustments of one pool: one conditional UPDATE each, so none is lost and none overdraws."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from emporium.app import create_app
from emporium.inventory.models import StockAdjustment, StockPool
from tests.conftest import MakeContext
from tests.inventory.factory import make_pool, staff_headers
from tests.support import asgi_client


async def test_twenty_concurrent_decrements_of_ten_units_leave_exactly_zero(
    make_committed_context: MakeContext,
) -> None:
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        pool = await make_pool(session, "Last ten", on_hand=10)
    async with asgi_client(create_app(ctx=ctx)) as client:
        headers = await staff_headers(client, ctx)
        url = f"/api/v1/inventory/pools/{pool.id}/adjustments"

        responses = await asyncio.gather(
            *(client.post(url, json={"delta": -1, "reason": f"sold {i}"}, headers=headers) for i in range(20))
        )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 10 + [409] * 10
    refused = [r.json()["error"]["code"] for r in responses if r.status_code == 409]
    assert refused == ["STOCK_BELOW_RESERVED"] * 10
    # Each accepted change saw the result of the ones before it.
    after = sorted(r.json()["data"]["on_hand_after"] for r in responses if r.status_code == 201)
    assert after == list(range(10))
    async with ctx.db.session() as session:
        row = await session.get(StockPool, pool.id)
        assert row is not None
        assert row.on_hand == 0
        recorded = await session.scalar(
            select(func.count()).select_from(StockAdjustment).where(StockAdjustment.pool_id == pool.id)
        )
        assert recorded == 10
