"""Every SQL statement of the CSV import and export (pools are read and written through the inventory
service; tags are replaced through the catalog repository)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import Brand, Category, Product, ProductTag, ProductVariant
from emporium.core.db import utcnow


class CsvRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def categories(self) -> list[Category]:
        return list((await self.session.execute(select(Category))).scalars())

    async def brands(self) -> list[Brand]:
        return list((await self.session.execute(select(Brand))).scalars())

    async def products_by_slug(self, slugs: Collection[str]) -> list[Product]:
        return list((await self.session.execute(select(Product).where(Product.slug.in_(slugs)))).scalars())

    async def variants_by_sku(self, skus: Collection[str]) -> list[ProductVariant]:
        result = await self.session.execute(select(ProductVariant).where(ProductVariant.sku.in_(skus)))
        return list(result.scalars())

    async def variants_of(self, product_id: int) -> list[ProductVariant]:
        result = await self.session.execute(
            select(ProductVariant)
            .where(ProductVariant.product_id == product_id)
            .order_by(ProductVariant.position, ProductVariant.id)
        )
        return list(result.scalars())

    async def variants_of_products(self, product_ids: Collection[int]) -> list[ProductVariant]:
        result = await self.session.execute(
            select(ProductVariant)
            .where(ProductVariant.product_id.in_(product_ids))
            .order_by(ProductVariant.product_id, ProductVariant.position, ProductVariant.id)
        )
        return list(result.scalars())

    async def set_price_ranges(self, ranges: Sequence[tuple[int, int | None, int | None]]) -> None:
        """(product id, cheapest, dearest) for many products in one batched UPDATE."""
        if not ranges:
            return
        now = utcnow()
        await self.session.execute(
            update(Product),
            [
                {"id": pid, "price_min_minor": low, "price_max_minor": high, "updated_at": now}
                for pid, low, high in ranges
            ],
        )

    # The export: the whole catalog in a fixed number of statements -----------------------------------

    async def all_products(self) -> list[Product]:
        return list((await self.session.execute(select(Product).order_by(Product.id))).scalars())

    async def all_variants(self) -> list[ProductVariant]:
        """By product, then as the product lists them."""
        result = await self.session.execute(
            select(ProductVariant).order_by(
                ProductVariant.product_id, ProductVariant.position, ProductVariant.id
            )
        )
        return list(result.scalars())

    async def all_tags(self) -> list[ProductTag]:
        result = await self.session.execute(
            select(ProductTag).order_by(ProductTag.product_id, ProductTag.tag)
        )
        return list(result.scalars())
