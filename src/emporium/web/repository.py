"""The storefront's own SQL: the mini-cart count and the sitemap's walk over the catalog (everything
else a page shows comes from the domain services)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.cart.models import Cart, CartItem
from emporium.catalog.models import Product, ProductStatus


class WebRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def cart_quantity(self, *, user_id: int | None, token_digest: str | None, now: datetime) -> int:
        """Units in the caller's live cart, in one statement."""
        if user_id is None and token_digest is None:
            return 0
        owner = Cart.user_id == user_id if user_id is not None else Cart.token_hash == token_digest
        result = await self.session.execute(
            select(func.coalesce(func.sum(CartItem.quantity), 0))
            .join(Cart, Cart.id == CartItem.cart_id)
            .where(owner, Cart.expires_at > now)
        )
        return int(result.scalar_one())

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
