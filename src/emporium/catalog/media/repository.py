"""Every SQL statement of product images."""

from __future__ import annotations

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import Product, ProductImage, ProductVariant


class MediaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def product_status(self, product_id: int) -> str | None:
        status: str | None = await self.session.scalar(select(Product.status).where(Product.id == product_id))
        return status

    async def variant_product(self, variant_id: int) -> int | None:
        product_id: int | None = await self.session.scalar(
            select(ProductVariant.product_id).where(ProductVariant.id == variant_id)
        )
        return product_id

    async def has_hash(self, product_id: int, digest: str) -> bool:
        found = await self.session.scalar(
            select(ProductImage.id)
            .where(ProductImage.product_id == product_id, ProductImage.content_hash == digest)
            .limit(1)
        )
        return found is not None

    async def image_stats(self, product_id: int, digest: str) -> tuple[int, int, bool]:
        """How many images the product has, the next free position, and whether ``digest`` is among them."""
        row = (
            await self.session.execute(
                select(
                    func.count(ProductImage.id),
                    func.max(ProductImage.position),
                    func.max(case((ProductImage.content_hash == digest, 1), else_=0)),
                ).where(ProductImage.product_id == product_id)
            )
        ).one()
        count, highest, duplicate = int(row[0]), row[1], bool(row[2])
        return count, 0 if highest is None else int(highest) + 1, duplicate

    async def images_of(self, product_id: int) -> list[ProductImage]:
        result = await self.session.scalars(
            select(ProductImage)
            .where(ProductImage.product_id == product_id)
            .order_by(ProductImage.position, ProductImage.id)
        )
        return list(result.all())

    async def image(self, product_id: int, image_id: int) -> ProductImage | None:
        image: ProductImage | None = await self.session.scalar(
            select(ProductImage).where(ProductImage.id == image_id, ProductImage.product_id == product_id)
        )
        return image

    async def delete_image(self, image_id: int) -> None:
        await self.session.execute(delete(ProductImage).where(ProductImage.id == image_id))

    async def file_keys(self, product_id: int) -> list[str]:
        """Every storage key the product's images point at."""
        result = await self.session.scalars(
            select(ProductImage.files).where(ProductImage.product_id == product_id)
        )
        return sorted({key for files in result.all() for key in files.values()})
