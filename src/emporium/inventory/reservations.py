"""Stock held by orders: reserve, release, deduct and restock several pools in one statement each.

``draws`` maps a pool id to the amount an order takes from it (quantity x draw_per_unit, summed over the
order's lines on that pool: the 250 g and 1 kg boxes of one sweet add up on one gram pool).

Reserving is a conditional UPDATE (only where the pool's free stock, see ``availability``, still covers the
amount), so two buyers can never both take the last unit, in one process or many. On PostgreSQL the same
statement first locks the pools in id order (a sub-select FOR UPDATE), so two orders holding the same pools
in opposite order queue instead of deadlocking; SQLite serialises writers with BEGIN IMMEDIATE already. The
statements are the inventory repository's; the order they run in is this module's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.errors import Conflict
from emporium.inventory.errors import InventoryError
from emporium.inventory.hooks import stock_changed
from emporium.inventory.repository import InventoryRepository


class InsufficientStock(Conflict):
    code = InventoryError.INSUFFICIENT_STOCK
    message = "Not enough stock is left for this order."


@dataclass(frozen=True)
class Shortage:
    pool_id: int
    wanted: int
    available: int


class Reservations:
    async def lock(self, session: AsyncSession, pool_ids: list[int]) -> dict[int, int]:
        """Lock the pools in id order (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the database);
        their free stock (see ``availability``)."""
        return await InventoryRepository(session).lock_free_stock(sorted(pool_ids))

    async def reserve(self, session: AsyncSession, draws: Mapping[int, int]) -> None:
        """Reserve every draw or none: raises InsufficientStock naming the pools that are short."""
        if not draws:
            return
        pool_ids = sorted(draws)
        # One statement locks the pools in id order and reserves where the stock is free; only a refusal
        # reads the pools again (still locked by it) to say what is left.
        reserved = await InventoryRepository(session).reserve(draws)
        if len(reserved) != len(pool_ids):
            available = await self.lock(session, pool_ids)
            short = [Shortage(p, draws[p], available.get(p, 0)) for p in pool_ids if p not in reserved]
            # The caller's transaction rolls back, taking the reservations of the other pools with it.
            raise _insufficient(short)
        await stock_changed(session, pool_ids)

    async def release(self, session: AsyncSession, draws: Mapping[int, int]) -> None:
        """Give a reservation back (order cancelled or expired before the stock left)."""
        if not draws:
            return
        await InventoryRepository(session).release(draws)
        await stock_changed(session, list(draws))

    async def deduct(
        self, session: AsyncSession, draws: Mapping[int, int], *, reason: str, actor_user_id: int | None
    ) -> None:
        """Turn a reservation into a deduction (payment captured, cash-on-delivery order confirmed)."""
        if not draws:
            return
        repo = InventoryRepository(session)
        _record(repo, draws, await repo.deduct(draws), -1, reason, actor_user_id)

    async def restock(
        self, session: AsyncSession, draws: Mapping[int, int], *, reason: str, actor_user_id: int | None
    ) -> None:
        """Put deducted stock back (an order cancelled after its stock was deducted)."""
        if not draws:
            return
        repo = InventoryRepository(session)
        _record(repo, draws, await repo.restock(draws), 1, reason, actor_user_id)
        await stock_changed(session, list(draws))


def _record(
    repo: InventoryRepository,
    draws: Mapping[int, int],
    moved: Sequence[Row[int, int]],
    sign: int,
    reason: str,
    actor_user_id: int | None,
) -> None:
    """Every change of on_hand is recorded with who, when, by how much and why (one INSERT for all)."""
    for pool_id, on_hand in moved:
        repo.record(int(pool_id), sign * draws[int(pool_id)], int(on_hand), reason, actor_user_id)


def _insufficient(short: list[Shortage]) -> InsufficientStock:
    return InsufficientStock(
        details=[
            {"field": f"pool.{s.pool_id}", "message": f"{s.available} available, {s.wanted} wanted"}
            for s in short
        ]
    )


reservations = Reservations()
