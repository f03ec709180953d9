"""Stock rules: what a product's pools hold, setting counts, adjustments and the low-stock list.

Available stock of a pool is ``on_hand - reserved``; a variant can still sell
``available // draw_per_unit`` units. No change may take ``on_hand`` below what is reserved for orders.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.errors import CatalogError
from emporium.core.errors import Conflict, NotFound, ValidationFailed
from emporium.inventory import schemas
from emporium.inventory.errors import InventoryError
from emporium.inventory.models import StockAdjustment, StockPool
from emporium.inventory.repository import InventoryRepository


class BelowReserved(Conflict):
    code = InventoryError.STOCK_BELOW_RESERVED
    message = "The stock on hand cannot go below what is reserved for orders."


def pool_read(pool: StockPool) -> schemas.PoolRead:
    available = pool.on_hand - pool.reserved
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


class InventoryService:
    async def product_inventory(self, session: AsyncSession, product_id: int) -> schemas.ProductInventory:
        repo = InventoryRepository(session)
        product = await repo.product(product_id)
        if product is None:
            raise NotFound("No such product.", code=CatalogError.PRODUCT_NOT_FOUND)
        variants = []
        for variant, pool in await repo.variants_with_pools(product_id):
            read = pool_read(pool)
            variants.append(
                schemas.VariantStock(
                    variant_id=variant.id,
                    sku=variant.sku,
                    name=variant.name,
                    is_active=variant.is_active,
                    draw_per_unit=variant.draw_per_unit,
                    units_available=max(read.available, 0) // variant.draw_per_unit,
                    pool=read,
                )
            )
        return schemas.ProductInventory(product_id=product.id, name=product.name, variants=variants)

    async def set_product_stock(
        self, session: AsyncSession, product_id: int, data: schemas.InventoryUpdate, actor_user_id: int | None
    ) -> schemas.ProductInventory:
        """Set the on-hand count of some of the product's pools (a stock count); each change is recorded.
        All or nothing: one refused pool refuses the whole request."""
        repo = InventoryRepository(session)
        if await repo.product(product_id) is None:
            raise NotFound("No such product.", code=CatalogError.PRODUCT_NOT_FOUND)
        own_pools = {pool.id for _, pool in await repo.variants_with_pools(product_id)}
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


inventory = InventoryService()


async def low_stock_pools(
    session: AsyncSession, *, limit: int = 100, offset: int = 0
) -> list[schemas.LowStockPool]:
    """For other domains (the admin dashboard): the pools at or under their low-stock threshold."""
    return await inventory.low_stock_pools(session, limit=limit, offset=offset)
