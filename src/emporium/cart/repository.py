"""Every SQL statement of the cart domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.cart.models import Cart, CartItem
from emporium.catalog.models import Category, Product, ProductVariant
from emporium.inventory.models import StockPool


@dataclass(frozen=True)
class CartLine:
    """A cart line with the catalog rows it is priced and checked against."""

    item: CartItem
    variant: ProductVariant
    product: Product
    pool: StockPool
    category_path: str | None

    @property
    def stock_draw(self) -> int:
        """What the line takes from its pool: its quantity times the variant's draw per unit."""
        return self.item.quantity * self.variant.draw_per_unit


class CartRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def cart_for_user(self, user_id: int, now: datetime) -> Cart | None:
        result = await self.session.execute(
            select(Cart).where(Cart.user_id == user_id, Cart.expires_at > now)
        )
        return result.scalar_one_or_none()

    async def cart_for_token(self, digest: str, now: datetime) -> Cart | None:
        result = await self.session.execute(
            select(Cart).where(Cart.token_hash == digest, Cart.expires_at > now)
        )
        return result.scalar_one_or_none()

    async def any_cart_of_user(self, user_id: int) -> Cart | None:
        """Also an expired one: a customer has one cart row, renewed rather than duplicated."""
        return (await self.session.execute(select(Cart).where(Cart.user_id == user_id))).scalar_one_or_none()

    async def lines(self, cart_id: int) -> list[CartLine]:
        """Every line with its variant, product, pool and category path: one statement."""
        result = await self.session.execute(
            select(CartItem, ProductVariant, Product, StockPool, Category.path)
            .join(ProductVariant, ProductVariant.id == CartItem.variant_id)
            .join(Product, Product.id == ProductVariant.product_id)
            .join(StockPool, StockPool.id == ProductVariant.pool_id)
            .outerjoin(Category, Category.id == Product.category_id)
            .where(CartItem.cart_id == cart_id)
            .order_by(CartItem.id)
        )
        return [CartLine(i, v, p, s, path) for i, v, p, s, path in result.all()]

    async def variant_with_pool(
        self, variant_id: int | None, product_id: int | None
    ) -> tuple[ProductVariant, Product, StockPool] | None:
        """A variant by id, or a product's default variant (else its first active one)."""
        query = (
            select(ProductVariant, Product, StockPool)
            .join(Product, Product.id == ProductVariant.product_id)
            .join(StockPool, StockPool.id == ProductVariant.pool_id)
        )
        if variant_id is not None:
            query = query.where(ProductVariant.id == variant_id)
        else:
            query = (
                query.where(ProductVariant.product_id == product_id, ProductVariant.is_active)
                .order_by(ProductVariant.is_default.desc(), ProductVariant.position, ProductVariant.id)
                .limit(1)
            )
        row = (await self.session.execute(query)).first()
        return None if row is None else (row[0], row[1], row[2])

    async def item(self, cart_id: int, item_id: int) -> CartItem | None:
        result = await self.session.execute(
            select(CartItem).where(CartItem.id == item_id, CartItem.cart_id == cart_id)
        )
        return result.scalar_one_or_none()

    async def empty(self, cart_id: int) -> None:
        await self.session.execute(
            delete(CartItem).where(CartItem.cart_id == cart_id).execution_options(synchronize_session=False)
        )

    async def clear(self, cart_id: int, expires_at: datetime) -> None:
        """After an order: the lines go, the coupon goes, the cart lives on (its token keeps working)."""
        await self.empty(cart_id)
        await self.session.execute(
            update(Cart)
            .where(Cart.id == cart_id)
            .values(coupon_code=None, expires_at=expires_at)
            .execution_options(synchronize_session=False)
        )

    async def delete_cart(self, cart_id: int) -> None:
        await self.session.execute(
            delete(Cart).where(Cart.id == cart_id).execution_options(synchronize_session=False)
        )

    async def delete_expired(self, now: datetime, limit: int) -> int:
        """Remove up to ``limit`` expired carts (their lines go with them); how many."""
        doomed = (
            select(Cart.id).where(Cart.expires_at <= now).order_by(Cart.id).limit(limit).scalar_subquery()
        )
        result = await self.session.execute(
            delete(Cart).where(Cart.id.in_(doomed)).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def item_count(self, *, user_id: int | None, token_digest: str | None, now: datetime) -> int:
        """Units in the caller's live cart, in one statement (the header's mini-cart)."""
        if user_id is None and token_digest is None:
            return 0
        owner = Cart.user_id == user_id if user_id is not None else Cart.token_hash == token_digest
        result = await self.session.execute(
            select(func.coalesce(func.sum(CartItem.quantity), 0))
            .join(Cart, Cart.id == CartItem.cart_id)
            .where(owner, Cart.expires_at > now)
        )
        return int(result.scalar_one())
