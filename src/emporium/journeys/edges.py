"""Edges of stock, told in the transaction that made them (inventory/hooks.py calls ``stock_changed``).

``pool_watch`` keeps what was last seen of each pool: its free stock and whether the low-stock notice is
armed. After every change the pool's figures now are compared with that row:

- a variant drawing ``d`` per unit came back when the pool had less than ``d`` free and now has ``d`` or
  more (sold out -> available: an edge; 5 -> 8 is a level and tells no one). Its alerts are sent by a job
  after the commit, which reads what is available then;
- a pool at or under its threshold (the back office's "low stock", ``free <= threshold``) tells staff once,
  then stays quiet until it has been above its threshold again (armed again).

The pool rows are locked by the change itself (the UPDATE, or ``lock_pools``) until the commit, so two
changes of one pool compare and write its watch row one after the other. A pool seen for the first time is
recorded as it stands, telling no one (nothing is known of before).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import utcnow
from emporium.core.jobs import enqueue
from emporium.core.notify import notify_staff
from emporium.core.permissions import Permission
from emporium.journeys.repository import JourneyRepository, WatchedPool

BACK_IN_STOCK_JOB = "journeys.back_in_stock"
LOW_STOCK_EVENT = "staff.low_stock"


def _low_stock(session: AsyncSession, pool: WatchedPool) -> None:
    notify_staff(
        session,
        LOW_STOCK_EVENT,
        key=f"{LOW_STOCK_EVENT}:{pool.pool_id}:{int(utcnow().timestamp() * 1_000_000)}",
        context={
            "pool_id": str(pool.pool_id),
            "pool_name": pool.name,
            "available": str(pool.free),
            "threshold": str(pool.threshold),
            "unit": pool.unit,
        },
        permission=Permission.INVENTORY_WRITE,
    )


async def stock_changed(session: AsyncSession, pool_ids: Collection[int]) -> None:
    repo = JourneyRepository(session)
    changed: list[tuple[int, int, bool]] = []
    rises: dict[int, tuple[int, int]] = {}
    for pool in await repo.watched_pools(pool_ids):
        low = pool.free <= pool.threshold
        if pool.last_free is None or pool.low_armed is None:
            changed.append((pool.pool_id, pool.free, not low))
            continue
        armed = pool.low_armed
        if armed and low:
            _low_stock(session, pool)
            armed = False
        elif not armed and not low:
            armed = True
        if pool.free > pool.last_free:
            rises[pool.pool_id] = (pool.last_free, pool.free)
        if (pool.free, armed) != (pool.last_free, pool.low_armed):
            changed.append((pool.pool_id, pool.free, armed))
    for pool_id, variant_id, draw in await repo.variants_back(rises):
        # The edge's batch: its size is fixed now, so running the job again sends no more.
        units = rises[pool_id][1] // draw
        enqueue(
            session,
            BACK_IN_STOCK_JOB,
            {"variant_id": variant_id, "units": units, "edge_at": utcnow().isoformat()},
        )
    await repo.save_watch(changed)


async def observe(session: AsyncSession, pool_ids: Collection[int]) -> None:
    """Record pools not watched yet as they stand (an alert's pool must be compared with the truth)."""
    repo = JourneyRepository(session)
    unseen = [p for p in await repo.watched_pools(pool_ids) if p.last_free is None]
    await repo.save_watch([(p.pool_id, p.free, p.free > p.threshold) for p in unseen])
