"""Every SQL statement of the wishlist domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, ScalarSelect, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import Product, ProductVariant
from emporium.inventory.models import StockPool
from emporium.wishlists.models import Wishlist, WishlistItem


@dataclass(frozen=True)
class ItemRow:
    """An item with its product and the variant it stands for (the chosen one, else the product's
    default), and that variant's pool; no variant when the product has none left for sale."""

    item: WishlistItem
    product: Product
    variant: ProductVariant | None
    pool: StockPool | None


def _owned_by(user_id: int | None, token_digest: str | None) -> ColumnElement[bool]:
    if user_id is not None:
        return Wishlist.user_id == user_id
    return Wishlist.token_hash == token_digest


def _default_variant_id() -> ScalarSelect[int]:
    """The id of an item's product's default variant (else its first active one), per item row."""
    return (
        select(ProductVariant.id)
        .where(ProductVariant.product_id == WishlistItem.product_id, ProductVariant.is_active)
        .order_by(ProductVariant.is_default.desc(), ProductVariant.position, ProductVariant.id)
        .limit(1)
        .correlate(WishlistItem)
        .scalar_subquery()
    )


class WishlistRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lists_of_user(self, user_id: int) -> list[tuple[Wishlist, int]]:
        """A customer's lists, the default first, each with its number of items: one statement."""
        counts = (
            select(WishlistItem.wishlist_id, func.count().label("n"))
            .group_by(WishlistItem.wishlist_id)
            .subquery()
        )
        result = await self.session.execute(
            select(Wishlist, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.wishlist_id == Wishlist.id)
            .where(Wishlist.user_id == user_id)
            .order_by(Wishlist.is_default.desc(), Wishlist.id)
        )
        return [(w, int(n)) for w, n in result.all()]

    async def default_list(
        self, *, user_id: int | None, token_digest: str | None, now: datetime
    ) -> Wishlist | None:
        if user_id is not None:
            query = select(Wishlist).where(Wishlist.user_id == user_id, Wishlist.is_default)
        else:
            query = select(Wishlist).where(Wishlist.token_hash == token_digest, Wishlist.expires_at > now)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def list_of(
        self, *, user_id: int | None, token_digest: str | None, list_id: int
    ) -> Wishlist | None:
        result = await self.session.execute(
            select(Wishlist).where(Wishlist.id == list_id, _owned_by(user_id, token_digest))
        )
        return result.scalar_one_or_none()

    async def list_by_share(self, digest: str) -> Wishlist | None:
        result = await self.session.execute(
            select(Wishlist).where(Wishlist.share_token_hash == digest, Wishlist.visibility != "private")
        )
        return result.scalar_one_or_none()

    async def count_lists(self, user_id: int) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(Wishlist).where(Wishlist.user_id == user_id)
        )
        return int(result.scalar_one())

    async def count_items(self, wishlist_id: int) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(WishlistItem).where(WishlistItem.wishlist_id == wishlist_id)
        )
        return int(result.scalar_one())

    async def rows(self, wishlist_id: int) -> list[ItemRow]:
        """Every item of a list, newest first, with its product, variant and pool: one statement."""
        variant_id = func.coalesce(WishlistItem.variant_id, _default_variant_id())
        result = await self.session.execute(
            select(WishlistItem, Product, ProductVariant, StockPool)
            .join(Product, Product.id == WishlistItem.product_id)
            .outerjoin(ProductVariant, ProductVariant.id == variant_id)
            .outerjoin(StockPool, StockPool.id == ProductVariant.pool_id)
            .where(WishlistItem.wishlist_id == wishlist_id)
            .order_by(WishlistItem.id.desc())
        )
        return [ItemRow(i, p, v, s) for i, p, v, s in result.all()]

    async def item_row(
        self, *, user_id: int | None, token_digest: str | None, item_id: int
    ) -> ItemRow | None:
        """One item of one of the caller's lists, as ``rows`` reads it; None when it is not theirs."""
        variant_id = func.coalesce(WishlistItem.variant_id, _default_variant_id())
        result = await self.session.execute(
            select(WishlistItem, Product, ProductVariant, StockPool)
            .join(Wishlist, Wishlist.id == WishlistItem.wishlist_id)
            .join(Product, Product.id == WishlistItem.product_id)
            .outerjoin(ProductVariant, ProductVariant.id == variant_id)
            .outerjoin(StockPool, StockPool.id == ProductVariant.pool_id)
            .where(WishlistItem.id == item_id, _owned_by(user_id, token_digest))
        )
        row = result.first()
        return None if row is None else ItemRow(row[0], row[1], row[2], row[3])

    async def item_for_product(self, wishlist_id: int, product_id: int) -> WishlistItem | None:
        result = await self.session.execute(
            select(WishlistItem).where(
                WishlistItem.wishlist_id == wishlist_id, WishlistItem.product_id == product_id
            )
        )
        return result.scalar_one_or_none()

    async def product_and_variant(
        self, product_id: int, variant_id: int | None
    ) -> tuple[Product, ProductVariant | None] | None:
        """A product with the variant asked for (which must be its own), else its default (else first
        active) variant; None when there is no such product, or the variant is not one of it."""
        query = select(Product, ProductVariant).outerjoin(
            ProductVariant, ProductVariant.product_id == Product.id
        )
        if variant_id is not None:
            query = query.where(ProductVariant.id == variant_id)
        else:
            query = query.where(ProductVariant.is_active).order_by(
                ProductVariant.is_default.desc(), ProductVariant.position, ProductVariant.id
            )
        row = (await self.session.execute(query.where(Product.id == product_id).limit(1))).first()
        if row is None and variant_id is None:  # a product without a variant for sale
            product = await self.session.get(Product, product_id)
            return None if product is None else (product, None)
        return None if row is None else (row[0], row[1])

    async def product_ids_in_default(
        self, *, user_id: int | None, token_digest: str | None, product_ids: list[int], now: datetime
    ) -> set[int]:
        """Which of ``product_ids`` are on the caller's default list: one statement."""
        owner = (
            Wishlist.user_id == user_id
            if user_id is not None
            else (Wishlist.token_hash == token_digest) & (Wishlist.expires_at > now)
        )
        result = await self.session.execute(
            select(WishlistItem.product_id)
            .join(Wishlist, Wishlist.id == WishlistItem.wishlist_id)
            .where(owner, Wishlist.is_default, WishlistItem.product_id.in_(product_ids))
        )
        return set(result.scalars())

    async def items_of_user(self, user_id: int) -> list[tuple[Wishlist, WishlistItem]]:
        """Every list of a customer with its items, for the data export: one statement."""
        result = await self.session.execute(
            select(Wishlist, WishlistItem)
            .outerjoin(WishlistItem, WishlistItem.wishlist_id == Wishlist.id)
            .where(Wishlist.user_id == user_id)
            .order_by(Wishlist.id, WishlistItem.id)
        )
        return [(w, i) for w, i in result.all()]

    async def delete_items_of(self, wishlist_id: int) -> None:
        await self.session.execute(
            delete(WishlistItem)
            .where(WishlistItem.wishlist_id == wishlist_id)
            .execution_options(synchronize_session=False)
        )

    async def delete_list(self, wishlist_id: int) -> None:
        await self.session.execute(
            delete(Wishlist).where(Wishlist.id == wishlist_id).execution_options(synchronize_session=False)
        )

    async def delete_lists_of_user(self, user_id: int) -> None:
        await self.session.execute(
            delete(Wishlist).where(Wishlist.user_id == user_id).execution_options(synchronize_session=False)
        )

    async def delete_expired(self, now: datetime, limit: int) -> int:
        """Remove up to ``limit`` guest lists past their expiry (their items go with them); how many."""
        doomed = (
            select(Wishlist.id)
            .where(Wishlist.expires_at <= now)
            .order_by(Wishlist.id)
            .limit(limit)
            .scalar_subquery()
        )
        result = await self.session.execute(
            delete(Wishlist).where(Wishlist.id.in_(doomed)).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
