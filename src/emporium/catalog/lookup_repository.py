"""Staff lookups of products by name or SKU, in every status (drafts and archived included), each answered
from an index (migration 0018): ``lower(sku)`` on the variants, a trigram index on ``lower(name)``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import Product, ProductVariant
from emporium.core.db import plan_for_each_value


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class LookupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_sku(self, sku: str, limit: int) -> Sequence[Row[int, str, str, str, str]]:
        query = (
            select(Product.id, Product.name, Product.slug, Product.status, ProductVariant.sku)
            .join(ProductVariant, ProductVariant.product_id == Product.id)
            .where(func.lower(ProductVariant.sku) == sku.lower())
            .limit(limit)
        )
        return (await self.session.execute(query)).all()

    async def by_name(self, text: str, limit: int) -> Sequence[Row[int, str, str, str]]:
        await plan_for_each_value(self.session)
        query = (
            select(Product.id, Product.name, Product.slug, Product.status)
            .where(func.lower(Product.name).like(_like_pattern(text), escape="\\"))
            .order_by(Product.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(query)).all()
