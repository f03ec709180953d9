"""Every SQL statement of the cart domain."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from emporium.cart.models import Cart, CartItem
from emporium.catalog.models import Category, Product, ProductVariant
from emporium.core.db import utcnow
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


@dataclass(frozen=True)
class CatalogRow:
    """A variant with the rows it is priced and checked against, and its line in the cart (None if none)."""

    item: CartItem | None
    variant: ProductVariant
    product: Product
    pool: StockPool
    category_path: str | None


@dataclass(frozen=True)
class LineWrite:
    """Units to add to a cart line (made if missing), and the unit price the shopper saw."""

    variant_id: int
    quantity: int
    price_seen_minor: int


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

    async def touch_live_cart(
        self, *, user_id: int | None, digest: str | None, now: datetime, expires_at: datetime
    ) -> Cart | None:
        """The owner's live cart with its expiry pushed to ``expires_at``, found and renewed in one
        statement; None when there is no live cart."""
        owner = Cart.user_id == user_id if user_id is not None else Cart.token_hash == digest
        statement = (
            update(Cart)
            .where(owner, Cart.expires_at > now)
            .values(expires_at=expires_at)
            .returning(Cart)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def rekey_guest_cart(self, cart_id: int, digest: str, now: datetime) -> bool:
        """Give a live guest cart a new token digest (its old token stops working); False if there is none."""
        result = await self.session.execute(
            update(Cart)
            .where(
                Cart.id == cart_id,
                Cart.user_id.is_(None),
                Cart.token_hash.is_not(None),
                Cart.expires_at > now,
            )
            .values(token_hash=digest)
            .returning(Cart.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none() is not None

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

    async def lines_and_variants(
        self, cart_id: int, variant_ids: Collection[int], product_ids: Collection[int]
    ) -> list[CatalogRow]:
        """In one statement: every line of the cart, and the variants asked for (by id, or every active
        variant of the products asked for), each with its product, pool, category path and cart line."""
        # The ids first, each branch by its own index, so the catalog is never scanned whole.
        asked = aliased(ProductVariant)
        wanted = union_all(
            select(CartItem.variant_id).where(CartItem.cart_id == cart_id),
            select(asked.id).where(asked.id.in_(sorted(variant_ids))),
            select(asked.id).where(asked.product_id.in_(sorted(product_ids)), asked.is_active),
        )
        result = await self.session.execute(
            select(CartItem, ProductVariant, Product, StockPool, Category.path)
            .select_from(ProductVariant)
            .join(Product, Product.id == ProductVariant.product_id)
            .join(StockPool, StockPool.id == ProductVariant.pool_id)
            .outerjoin(Category, Category.id == Product.category_id)
            .outerjoin(CartItem, and_(CartItem.variant_id == ProductVariant.id, CartItem.cart_id == cart_id))
            .where(ProductVariant.id.in_(wanted))
            .order_by(ProductVariant.id)
        )
        return [CatalogRow(i, v, p, s, path) for i, v, p, s, path in result.all()]

    async def add_to_lines(self, cart_id: int, writes: Sequence[LineWrite]) -> list[CartItem]:
        """Add units to the cart's lines in one statement: a missing line is made, an existing one grows
        by the units (so two requests adding at once both count). The lines as written."""
        insert = postgresql.insert if self.session.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = insert(CartItem)
        statement = statement.on_conflict_do_update(
            index_elements=[CartItem.cart_id, CartItem.variant_id],
            set_={
                "quantity": CartItem.quantity + statement.excluded.quantity,
                "price_seen_minor": statement.excluded.price_seen_minor,
                "updated_at": statement.excluded.updated_at,
            },
        )
        now = utcnow()
        # Rows as parameters (not a VALUES list in the statement) keep the statement's compiled form cached;
        # the driver still sends them as one INSERT with many VALUES.
        rows = [
            {
                "cart_id": cart_id,
                "variant_id": write.variant_id,
                "quantity": write.quantity,
                "price_seen_minor": write.price_seen_minor,
                "created_at": now,
                "updated_at": now,
            }
            for write in writes
        ]
        result = await self.session.scalars(
            statement.returning(CartItem),
            rows,
            execution_options={"populate_existing": True},
        )
        return list(result.all())

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
