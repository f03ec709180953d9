"""The SQL of the filtered catalog export (the back office's "export this filter"): a batch of products (whose
ids the product list's own filter chose, staff_list_repository.ids_after), then their variants, tags and
pools."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import Product, ProductTag, ProductVariant
from emporium.inventory.models import StockPool


class ExportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def products(self, product_ids: Collection[int]) -> list[Product]:
        query = select(Product).where(Product.id.in_(product_ids)).order_by(Product.id)
        return list((await self.session.execute(query)).scalars())

    async def variants_of(self, product_ids: Collection[int]) -> list[ProductVariant]:
        query = (
            select(ProductVariant)
            .where(ProductVariant.product_id.in_(product_ids))
            .order_by(ProductVariant.product_id, ProductVariant.position, ProductVariant.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def tags_of(self, product_ids: Collection[int]) -> list[ProductTag]:
        query = (
            select(ProductTag)
            .where(ProductTag.product_id.in_(product_ids))
            .order_by(ProductTag.product_id, ProductTag.tag)
        )
        return list((await self.session.execute(query)).scalars())

    async def pools(self, pool_ids: Collection[int]) -> list[StockPool]:
        return list(
            (await self.session.execute(select(StockPool).where(StockPool.id.in_(pool_ids)))).scalars()
        )

    async def shared_pools(self, pool_ids: Collection[int]) -> set[int]:
        """Which of these pools more than one variant draws from (in the whole catalog)."""
        query = (
            select(ProductVariant.pool_id)
            .where(ProductVariant.pool_id.in_(pool_ids))
            .group_by(ProductVariant.pool_id)
            .having(func.count() > 1)
        )
        return set((await self.session.execute(query)).scalars())
