"""Stock rules: opening pools, what a product's pools hold, setting counts, adjustments and the low-stock
list.

What a pool can still sell is ``availability.units_available``. No change may take ``on_hand`` below what
is reserved for orders, and every change of ``on_hand`` is recorded as an adjustment. The catalog (its
editor and its CSV import) opens, finds and drops pools through this service.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import utcnow
from emporium.core.errors import Conflict, NotFound, ValidationFailed
from emporium.core.keyset import KeysetPage, decode_cursor, encode_cursor
from emporium.inventory import schemas
from emporium.inventory.availability import units_available
from emporium.inventory.errors import InventoryError
from emporium.inventory.hooks import stock_changed
from emporium.inventory.models import StockAdjustment, StockPool
from emporium.inventory.repository import InventoryRepository


class BelowReserved(Conflict):
    code = InventoryError.STOCK_BELOW_RESERVED
    message = "The stock on hand cannot go below what is reserved for orders."


@dataclass(frozen=True)
class PoolChange:
    """A pool's count and unit as a stock take sets them."""

    on_hand: int
    unit: str


def pool_read(pool: StockPool) -> schemas.PoolRead:
    available = units_available(pool.on_hand, pool.reserved)
    return schemas.PoolRead(
        id=pool.id,
        name=pool.name,
        unit=pool.unit,
        on_hand=pool.on_hand,
        reserved=pool.reserved,
        available=available,
        low_stock_threshold=pool.low_stock_threshold,
        low_stock=available <= pool.low_stock_threshold,
    )


def _pool_not_found() -> NotFound:
    return NotFound("No such stock pool.", code=InventoryError.POOL_NOT_FOUND)


@dataclass(frozen=True)
class DrawingVariant:
    """A variant that draws from a pool, with how many of it the pool can still give."""

    product_id: int
    product_name: str
    variant_id: int
    sku: str
    name: str
    draw_per_unit: int
    units_available: int


@dataclass(frozen=True)
class PoolRow:
    pool: schemas.PoolRead
    variants: list[DrawingVariant]


@dataclass(frozen=True)
class HistoryRow:
    adjustment: StockAdjustment
    actor_email: str | None


@dataclass(frozen=True)
class Change:
    """A field of a pool before and after a staff change."""

    before: int
    after: int


@dataclass(frozen=True)
class NewPool:
    """A pool to open: its name, unit, first count and low-stock threshold."""

    name: str
    unit: str
    on_hand: int
    low_stock_threshold: int


class InventoryService:
    # Pools, for the catalog ---------------------------------------------------------------------------

    async def open_pool(
        self,
        session: AsyncSession,
        *,
        name: str,
        unit: str,
        on_hand: int,
        low_stock_threshold: int,
        reason: str,
        actor_user_id: int | None,
    ) -> StockPool:
        """A new pool (inserted at once: its id is wanted), its first count recorded with ``reason``."""
        repo = InventoryRepository(session)
        pool = await repo.add_pool(
            StockPool(
                name=name[:200],
                unit=unit,
                on_hand=on_hand,
                reserved=0,
                low_stock_threshold=low_stock_threshold,
            )
        )
        if pool.on_hand:
            repo.record(pool.id, pool.on_hand, pool.on_hand, reason, actor_user_id)
        await stock_changed(session, [pool.id])
        return pool

    async def open_pools(
        self, session: AsyncSession, specs: Sequence[NewPool], *, reason: str, actor_user_id: int | None
    ) -> list[StockPool]:
        """Many new pools in one batched insert (a catalog import), each first count recorded."""
        pools = [
            StockPool(
                name=spec.name[:200],
                unit=spec.unit,
                on_hand=spec.on_hand,
                reserved=0,
                low_stock_threshold=spec.low_stock_threshold,
            )
            for spec in specs
        ]
        repo = InventoryRepository(session)
        await repo.add_pools(pools)
        for pool in pools:
            if pool.on_hand:
                repo.record(pool.id, pool.on_hand, pool.on_hand, reason, actor_user_id)
        await stock_changed(session, [pool.id for pool in pools])
        return pools

    async def pool(self, session: AsyncSession, pool_id: int) -> StockPool | None:
        return await InventoryRepository(session).pool(pool_id)

    async def pools_of(self, session: AsyncSession, pool_ids: Sequence[int]) -> dict[int, StockPool]:
        """These pools, by id, in one statement per 10,000 (the catalog import reads its rows' pools)."""
        return {pool.id: pool for pool in await InventoryRepository(session).pools(pool_ids)}

    async def pools_by_id(self, session: AsyncSession) -> dict[int, StockPool]:
        """Every pool (the catalog export's stock columns)."""
        return {pool.id: pool for pool in await InventoryRepository(session).all_pools()}

    async def drop_unused_pools(self, session: AsyncSession, pool_ids: Sequence[int]) -> None:
        """Delete those of the pools nothing draws from any more (after a variant or product went)."""
        await InventoryRepository(session).delete_unused_pools(pool_ids)

    def recount(
        self, session: AsyncSession, pool: StockPool, on_hand: int, *, reason: str, actor_user_id: int | None
    ) -> None:
        """Set a pool's count (written with the session's next flush), recorded with ``reason``; raises
        BelowReserved when orders hold more than ``on_hand``."""
        if on_hand < pool.reserved:
            raise BelowReserved(f"{pool.reserved} are reserved by orders; on_hand cannot be lower")
        InventoryRepository(session).record(pool.id, on_hand - pool.on_hand, on_hand, reason, actor_user_id)
        pool.on_hand = on_hand

    async def lock_pools(self, session: AsyncSession, pool_ids: Sequence[int]) -> dict[int, StockPool]:
        """The pools by id, locked in id order until the transaction ends (see the repository)."""
        if not pool_ids:
            return {}
        return {
            pool.id: pool for pool in await InventoryRepository(session).lock_pools(sorted(set(pool_ids)))
        }

    async def set_counts(
        self,
        session: AsyncSession,
        pools: Mapping[int, StockPool],
        changes: Mapping[int, PoolChange],
        *,
        reason: str,
        actor_user_id: int | None,
    ) -> None:
        """Set the count and unit of several pools locked by ``lock_pools``, in one batched UPDATE, each
        new count recorded with ``reason``. All or nothing: ``BelowReserved`` names every pool whose count
        would fall below what orders hold, and a pool holding reservations keeps its unit."""
        refused = [
            {
                "field": f"pool.{pool_id}.on_hand",
                "message": f"{pools[pool_id].reserved} are reserved for orders; on hand cannot be lower.",
            }
            for pool_id, change in changes.items()
            if change.on_hand < pools[pool_id].reserved
        ] + [
            {"field": f"pool.{pool_id}.unit", "message": "Orders hold stock of this pool: its unit stays."}
            for pool_id, change in changes.items()
            if change.unit != pools[pool_id].unit and pools[pool_id].reserved
        ]
        if refused:
            raise BelowReserved(details=refused)
        repo = InventoryRepository(session)
        now = utcnow()
        rows = []
        recorded = []
        for pool_id, change in sorted(changes.items()):
            pool = pools[pool_id]
            if change.on_hand == pool.on_hand and change.unit == pool.unit:
                continue
            rows.append({"id": pool_id, "on_hand": change.on_hand, "unit": change.unit, "updated_at": now})
            if change.on_hand != pool.on_hand:
                recorded.append(
                    {
                        "pool_id": pool_id,
                        "delta": change.on_hand - pool.on_hand,
                        "on_hand_after": change.on_hand,
                        "reason": reason,
                        "actor_user_id": actor_user_id,
                    }
                )
        await repo.write_pools(rows)
        await repo.record_many(recorded)
        await stock_changed(
            session,
            [pool_id for pool_id, change in changes.items() if change.on_hand != pools[pool_id].on_hand],
        )

    # A product's pools ----------------------------------------------------------------------------------

    async def product_inventory(self, session: AsyncSession, product_id: int) -> schemas.ProductInventory:
        repo = InventoryRepository(session)
        product = await repo.product(product_id)
        if product is None:
            raise NotFound("No such product.", code=InventoryError.PRODUCT_NOT_FOUND)
        variants = [
            schemas.VariantStock(
                variant_id=variant_id,
                sku=sku,
                name=name,
                is_active=is_active,
                draw_per_unit=draw_per_unit,
                units_available=units_available(pool.on_hand, pool.reserved, draw_per_unit),
                pool=pool_read(pool),
            )
            for pool, variant_id, sku, name, is_active, draw_per_unit in await repo.variants_with_pools(
                product_id
            )
        ]
        return schemas.ProductInventory(product_id=product.id, name=product.name, variants=variants)

    async def set_product_stock(
        self, session: AsyncSession, product_id: int, data: schemas.InventoryUpdate, actor_user_id: int | None
    ) -> schemas.ProductInventory:
        """Set the on-hand count of some of the product's pools (a stock count); each change is recorded.
        All or nothing: one refused pool refuses the whole request."""
        repo = InventoryRepository(session)
        if await repo.product(product_id) is None:
            raise NotFound("No such product.", code=InventoryError.PRODUCT_NOT_FOUND)
        own_pools = {row[0].id for row in await repo.variants_with_pools(product_id)}
        strangers = [
            {"field": f"pools.{i}.pool_id", "message": "This pool does not belong to the product."}
            for i, item in enumerate(data.pools)
            if item.pool_id not in own_pools
        ]
        if strangers:
            raise ValidationFailed(
                "A pool does not belong to this product.",
                code=InventoryError.POOL_NOT_IN_PRODUCT,
                details=strangers,
            )
        locked = {pool.id: pool for pool in await repo.lock_pools([item.pool_id for item in data.pools])}
        for i, item in enumerate(data.pools):
            before = locked[item.pool_id].on_hand
            after = await repo.set_on_hand(item.pool_id, item.on_hand)
            if after is None:
                raise BelowReserved(
                    f"Pool {item.pool_id} has {locked[item.pool_id].reserved} reserved; "
                    f"on hand cannot be set to {item.on_hand}.",
                    details=[{"field": f"pools.{i}.on_hand", "message": "below the reserved quantity"}],
                )
            if after != before:
                repo.record(item.pool_id, after - before, after, item.reason, actor_user_id)
        await session.flush()
        await stock_changed(session, [item.pool_id for item in data.pools])
        return await self.product_inventory(session, product_id)

    async def adjust(
        self, session: AsyncSession, pool_id: int, data: schemas.AdjustmentCreate, actor_user_id: int | None
    ) -> StockAdjustment:
        repo = InventoryRepository(session)
        after = await repo.adjust(pool_id, data.delta)
        if after is None:
            pool = await repo.pool(pool_id)
            if pool is None:
                raise _pool_not_found()
            raise BelowReserved(
                f"Pool {pool_id} has {pool.on_hand} on hand and {pool.reserved} reserved; "
                f"a change of {data.delta} is not possible.",
                details=[{"field": "delta", "message": "would take the stock below the reserved quantity"}],
            )
        adjustment = repo.record(pool_id, data.delta, after, data.reason, actor_user_id)
        await session.flush()
        await stock_changed(session, [pool_id])
        return adjustment

    async def adjustments(
        self, session: AsyncSession, pool_id: int, *, limit: int, offset: int
    ) -> tuple[list[StockAdjustment], int]:
        repo = InventoryRepository(session)
        if await repo.pool(pool_id) is None:
            raise _pool_not_found()
        return await repo.adjustments(pool_id, limit=limit, offset=offset), await repo.count_adjustments(
            pool_id
        )

    async def low_stock_pools(
        self, session: AsyncSession, *, limit: int = 100, offset: int = 0
    ) -> list[schemas.LowStockPool]:
        """Pools whose available stock is at or under their threshold, emptiest first, each with the
        products that draw from it."""
        repo = InventoryRepository(session)
        pools = await repo.low_stock_pools(limit=limit, offset=offset)
        products: dict[int, list[schemas.ProductRef]] = defaultdict(list)
        for pool_id, product_id, name, slug in await repo.products_drawing_from([p.id for p in pools]):
            products[pool_id].append(schemas.ProductRef(id=product_id, name=name, slug=slug))
        return [
            schemas.LowStockPool(**pool_read(pool).model_dump(), products=products[pool.id]) for pool in pools
        ]

    async def count_low_stock_pools(self, session: AsyncSession) -> int:
        return await InventoryRepository(session).count_low_stock_pools()

    # The back office's stock screens --------------------------------------------------------------------

    async def pool_list(
        self,
        session: AsyncSession,
        *,
        query: str,
        low_only: bool,
        out_only: bool,
        after: str | None,
        limit: int,
    ) -> KeysetPage[PoolRow]:
        """Pools by name a page at a time, each with the variants drawing from it: two statements."""
        cursor = decode_cursor(after)
        if cursor is not None and not isinstance(cursor.value, str):
            raise ValidationFailed(
                details=[{"field": "after", "message": "This page link is not valid; start again."}]
            )
        repo = InventoryRepository(session)
        pools = await repo.pools_page(
            query=query.strip(),
            low_only=low_only,
            out_only=out_only,
            after=None if cursor is None else (str(cursor.value), cursor.id),
            limit=limit,
        )
        shown = pools[:limit]
        rows = await self._with_variants(repo, shown)
        more = len(pools) > limit
        return KeysetPage(
            rows=rows, next_cursor=encode_cursor(shown[-1].name, shown[-1].id) if more else None
        )

    async def pool_row(self, session: AsyncSession, pool_id: int) -> PoolRow:
        repo = InventoryRepository(session)
        pool = await repo.pool(pool_id)
        if pool is None:
            raise _pool_not_found()
        return (await self._with_variants(repo, [pool]))[0]

    async def _with_variants(self, repo: InventoryRepository, pools: Sequence[StockPool]) -> list[PoolRow]:
        by_pool: dict[int, list[DrawingVariant]] = defaultdict(list)
        free = {pool.id: (pool.on_hand, pool.reserved) for pool in pools}
        for pool_id, product_id, product_name, variant_id, sku, name, draw in await repo.variants_of_pools(
            list(free)
        ):
            on_hand, reserved = free[pool_id]
            by_pool[pool_id].append(
                DrawingVariant(
                    product_id,
                    product_name,
                    variant_id,
                    sku,
                    name,
                    draw,
                    units_available(on_hand, reserved, draw),
                )
            )
        return [PoolRow(pool_read(pool), by_pool[pool.id]) for pool in pools]

    async def history(
        self, session: AsyncSession, pool_id: int, *, before: str | None, limit: int
    ) -> KeysetPage[HistoryRow]:
        """The pool's adjustments, newest first, a page at a time, with who made each."""
        cursor = decode_cursor(before, field="before")
        rows = await InventoryRepository(session).history_page(
            pool_id, before_id=None if cursor is None else cursor.id, limit=limit
        )
        shown = [HistoryRow(adjustment, email) for adjustment, email in rows[:limit]]
        more = len(rows) > limit
        return KeysetPage(
            rows=shown, next_cursor=encode_cursor(None, shown[-1].adjustment.id) if more else None
        )

    async def set_count(
        self, session: AsyncSession, pool_id: int, on_hand: int, *, reason: str, actor_user_id: int | None
    ) -> Change:
        """A stock count: the pool's on-hand set to ``on_hand`` (locked first, so the figure read is the one
        changed), recorded with ``reason``. Refused, changing nothing, below what orders reserve."""
        repo = InventoryRepository(session)
        locked = await repo.lock_pools([pool_id])
        if not locked:
            raise _pool_not_found()
        pool = locked[0]
        before = pool.on_hand
        if on_hand < pool.reserved:
            raise BelowReserved(
                f"{pool.reserved} {pool.unit} of this pool are reserved by orders; "
                f"the count cannot be set to {on_hand}. Nothing was changed.",
                details=[{"field": "on_hand", "message": f"At least {pool.reserved} (reserved by orders)."}],
            )
        if on_hand != before:
            self.recount(session, pool, on_hand, reason=reason, actor_user_id=actor_user_id)
            await session.flush()
            await stock_changed(session, [pool_id])
        return Change(before, on_hand)

    async def set_threshold(self, session: AsyncSession, pool_id: int, threshold: int) -> Change:
        repo = InventoryRepository(session)
        locked = await repo.lock_pools([pool_id])
        if not locked:
            raise _pool_not_found()
        pool = locked[0]
        change = Change(pool.low_stock_threshold, threshold)
        pool.low_stock_threshold = threshold
        await session.flush()
        await stock_changed(session, [pool_id])
        return change


inventory = InventoryService()


async def low_stock_pools(
    session: AsyncSession, *, limit: int = 100, offset: int = 0
) -> list[schemas.LowStockPool]:
    """For other domains (the admin dashboard): the pools at or under their low-stock threshold."""
    return await inventory.low_stock_pools(session, limit=limit, offset=offset)
