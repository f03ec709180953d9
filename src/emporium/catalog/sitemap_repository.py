"""The SQL of the sitemaps' walk over the catalog: active products by id, in keyset batches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import Product, ProductStatus


class SitemapRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_product_count(self) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(Product).where(Product.status == ProductStatus.ACTIVE)
        )
        return int(result.scalar_one())

    async def active_product_id_at(self, offset: int) -> int | None:
        """The id of the ``offset``-th active product by id: where a sitemap file starts."""
        result = await self.session.execute(
            select(Product.id)
            .where(Product.status == ProductStatus.ACTIVE)
            .order_by(Product.id)
            .offset(offset)
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def active_products_from(self, first_id: int, limit: int) -> Sequence[Row[int, str, datetime]]:
        """Up to ``limit`` active products with ``id >= first_id``, by id (keyset paging)."""
        result = await self.session.execute(
            select(Product.id, Product.slug, Product.updated_at)
            .where(Product.status == ProductStatus.ACTIVE, Product.id >= first_id)
            .order_by(Product.id)
            .limit(limit)
        )
        return result.all()
