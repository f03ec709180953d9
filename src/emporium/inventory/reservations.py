"""Stock held by orders: reserve, release, deduct and restock several pools in one statement each.

``draws`` maps a pool id to the amount an order takes from it (quantity x draw_per_unit, summed over the
order's lines on that pool: the 250 g and 1 kg boxes of one sweet add up on one gram pool).

Reserving is a conditional UPDATE (``... WHERE on_hand - reserved >= amount``), so two buyers can never both
take the last unit, in one process or many. On PostgreSQL the pools are first locked in id order, so two
orders holding the same pools in opposite order queue instead of deadlocking; SQLite serialises writers
with BEGIN IMMEDIATE already.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.errors import Conflict
from emporium.inventory.errors import InventoryError
from emporium.inventory.models import StockAdjustment, StockPool


class InsufficientStock(Conflict):
    code = InventoryError.INSUFFICIENT_STOCK
    message = "Not enough stock is left for this order."


@dataclass(frozen=True)
class Shortage:
    pool_id: int
    wanted: int
    available: int


def _amount(draws: Mapping[int, int]) -> ColumnElement[int]:
    return case(dict(draws), value=StockPool.id)


class Reservations:
    async def lock(self, session: AsyncSession, pool_ids: list[int]) -> dict[int, int]:
        """Lock the pools in id order (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the database);
        their available amounts (``on_hand - reserved``)."""
        result = await session.execute(
            select(StockPool.id, StockPool.on_hand - StockPool.reserved)
            .where(StockPool.id.in_(pool_ids))
            .order_by(StockPool.id)
            .with_for_update()
        )
        return {int(pool_id): int(available) for pool_id, available in result.all()}

    async def reserve(self, session: AsyncSession, draws: Mapping[int, int]) -> None:
        """Reserve every draw or none: raises InsufficientStock naming the pools that are short."""
        if not draws:
            return
        pool_ids = sorted(draws)
        available = await self.lock(session, pool_ids)
        short = [Shortage(p, draws[p], available.get(p, 0)) for p in pool_ids]
        short = [s for s in short if s.available < s.wanted]
        if short:
            raise _insufficient(short)
        amount = _amount(draws)
        result = await session.execute(
            update(StockPool)
            .where(StockPool.id.in_(pool_ids), StockPool.on_hand - StockPool.reserved >= amount)
            .values(reserved=StockPool.reserved + amount)
            .returning(StockPool.id)
            .execution_options(synchronize_session=False)
        )
        reserved = {int(pool_id) for pool_id in result.scalars()}
        if len(reserved) != len(pool_ids):
            # Cannot happen after the lock; kept as the rule's last line of defence. The caller's transaction
            # rolls back, taking the reservations of the other pools with it.
            raise _insufficient([Shortage(p, draws[p], 0) for p in pool_ids if p not in reserved])

    async def release(self, session: AsyncSession, draws: Mapping[int, int]) -> None:
        """Give a reservation back (order cancelled or expired before the stock left)."""
        if not draws:
            return
        amount = _amount(draws)
        await session.execute(
            update(StockPool)
            .where(StockPool.id.in_(sorted(draws)), StockPool.reserved >= amount)
            .values(reserved=StockPool.reserved - amount)
            .execution_options(synchronize_session=False)
        )

    async def deduct(
        self, session: AsyncSession, draws: Mapping[int, int], *, reason: str, actor_user_id: int | None
    ) -> None:
        """Turn a reservation into a deduction (payment captured, cash-on-delivery order confirmed)."""
        await self._move_on_hand(session, draws, -1, reason=reason, actor_user_id=actor_user_id)

    async def restock(
        self, session: AsyncSession, draws: Mapping[int, int], *, reason: str, actor_user_id: int | None
    ) -> None:
        """Put deducted stock back (an order cancelled after its stock was deducted)."""
        await self._move_on_hand(session, draws, 1, reason=reason, actor_user_id=actor_user_id)

    async def _move_on_hand(
        self,
        session: AsyncSession,
        draws: Mapping[int, int],
        sign: int,
        *,
        reason: str,
        actor_user_id: int | None,
    ) -> None:
        if not draws:
            return
        amount = _amount(draws)
        statement = update(StockPool).where(StockPool.id.in_(sorted(draws)))
        if sign < 0:
            statement = statement.where(StockPool.reserved >= amount).values(
                on_hand=StockPool.on_hand - amount, reserved=StockPool.reserved - amount
            )
        else:
            statement = statement.values(on_hand=StockPool.on_hand + amount)
        result = await session.execute(
            statement.returning(StockPool.id, StockPool.on_hand).execution_options(synchronize_session=False)
        )
        # Every change of on_hand is recorded with who, when, by how much and why (one INSERT for all).
        session.add_all(
            StockAdjustment(
                pool_id=int(pool_id),
                delta=sign * draws[int(pool_id)],
                on_hand_after=int(on_hand),
                reason=reason,
                actor_user_id=actor_user_id,
            )
            for pool_id, on_hand in result.all()
        )


def _insufficient(short: list[Shortage]) -> InsufficientStock:
    return InsufficientStock(
        details=[
            {"field": f"pool.{s.pool_id}", "message": f"{s.available} available, {s.wanted} wanted"}
            for s in short
        ]
    )


reservations = Reservations()
