"""Every SQL statement of the inventory domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import Product, ProductVariant
from emporium.inventory.models import StockAdjustment, StockPool

_LOW = StockPool.on_hand - StockPool.reserved <= StockPool.low_stock_threshold


class InventoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def product(self, product_id: int) -> Product | None:
        return await self.session.get(Product, product_id)

    async def variants_with_pools(self, product_id: int) -> Sequence[Row[ProductVariant, StockPool]]:
        result = await self.session.execute(
            select(ProductVariant, StockPool)
            .join(StockPool, StockPool.id == ProductVariant.pool_id)
            .where(ProductVariant.product_id == product_id)
            .order_by(ProductVariant.position, ProductVariant.id)
        )
        return result.all()

    async def pool(self, pool_id: int) -> StockPool | None:
        return await self.session.get(StockPool, pool_id)

    async def lock_pools(self, pool_ids: Sequence[int]) -> list[StockPool]:
        """The pools, locked in id order (PostgreSQL) so that two writers never deadlock; SQLite writers
        are serialised by BEGIN IMMEDIATE already."""
        result = await self.session.execute(
            select(StockPool)
            .where(StockPool.id.in_(pool_ids))
            .order_by(StockPool.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def set_on_hand(self, pool_id: int, on_hand: int) -> int | None:
        """Set the count unless it would fall below what is reserved; the new count, or None."""
        result = await self.session.execute(
            update(StockPool)
            .where(StockPool.id == pool_id, StockPool.reserved <= on_hand)
            .values(on_hand=on_hand)
            .returning(StockPool.on_hand)
        )
        value = result.scalar_one_or_none()
        return None if value is None else int(value)

    async def adjust(self, pool_id: int, delta: int) -> int | None:
        """One conditional UPDATE: the count moves by ``delta`` unless it would fall below what is reserved
        (or below zero). Concurrent adjustments queue on the row and each sees the others' result."""
        result = await self.session.execute(
            update(StockPool)
            .where(StockPool.id == pool_id, StockPool.on_hand + delta >= StockPool.reserved)
            .values(on_hand=StockPool.on_hand + delta)
            .returning(StockPool.on_hand)
        )
        value = result.scalar_one_or_none()
        return None if value is None else int(value)

    def record(
        self, pool_id: int, delta: int, on_hand_after: int, reason: str, actor_user_id: int | None
    ) -> StockAdjustment:
        adjustment = StockAdjustment(
            pool_id=pool_id,
            delta=delta,
            on_hand_after=on_hand_after,
            reason=reason,
            actor_user_id=actor_user_id,
        )
        self.session.add(adjustment)
        return adjustment

    async def adjustments(self, pool_id: int, *, limit: int, offset: int) -> list[StockAdjustment]:
        result = await self.session.execute(
            select(StockAdjustment)
            .where(StockAdjustment.pool_id == pool_id)
            .order_by(StockAdjustment.created_at.desc(), StockAdjustment.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(result.scalars())

    async def count_adjustments(self, pool_id: int) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(StockAdjustment).where(StockAdjustment.pool_id == pool_id)
        )
        return int(result.scalar_one())

    async def low_stock_pools(self, *, limit: int, offset: int) -> list[StockPool]:
        result = await self.session.execute(
            select(StockPool)
            .where(_LOW)
            .order_by((StockPool.on_hand - StockPool.reserved).asc(), StockPool.id)
            .limit(limit)
            .offset(offset)
        )
        return list(result.scalars())

    async def count_low_stock_pools(self) -> int:
        result = await self.session.execute(select(func.count()).select_from(StockPool).where(_LOW))
        return int(result.scalar_one())

    async def products_drawing_from(self, pool_ids: Sequence[int]) -> Sequence[Row[int, int, str, str]]:
        """``(pool_id, product_id, name, slug)`` for every product with a variant on one of the pools."""
        if not pool_ids:
            return []
        result = await self.session.execute(
            select(ProductVariant.pool_id, Product.id, Product.name, Product.slug)
            .join(Product, Product.id == ProductVariant.product_id)
            .where(ProductVariant.pool_id.in_(pool_ids))
            .distinct()
            .order_by(ProductVariant.pool_id, Product.id)
        )
        return result.all()
