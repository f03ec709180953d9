"""The SQL of the back office's variant editor: a product's whole grid read in one statement and written
in one batched UPDATE, SKU clashes with other products, and a trial delete that tells whether a variant
can go or must stay for the records that point at it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import ProductVariant


class GridRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def skus_of_other_products(self, product_id: int, skus: Sequence[str]) -> set[str]:
        """Which of ``skus`` (compared lower-case) variants of other products already use."""
        if not skus:
            return set()
        lowered = sorted({sku.lower() for sku in skus})
        result = await self.session.scalars(
            select(func.lower(ProductVariant.sku)).where(
                func.lower(ProductVariant.sku).in_(lowered), ProductVariant.product_id != product_id
            )
        )
        return set(result.all())

    async def update_variants(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """One batched UPDATE by primary key (every row carries the same keys)."""
        if rows:
            await self.session.execute(
                update(ProductVariant).execution_options(synchronize_session=False), list(rows)
            )

    async def can_delete(self, variant_id: int) -> bool:
        """Whether deleting the variant would be allowed: tried in a savepoint that is always rolled back
        (order lines reference variants with ON DELETE RESTRICT, so a sold variant fails here)."""
        savepoint = await self.session.begin_nested()
        try:
            await self.session.execute(delete(ProductVariant).where(ProductVariant.id == variant_id))
        except IntegrityError:
            return False
        finally:
            await savepoint.rollback()
        return True
