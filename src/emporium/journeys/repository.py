"""Every SQL statement of the journeys."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.cart.models import Cart, CartItem
from emporium.catalog.models import Product, ProductVariant
from emporium.core.db import utcnow
from emporium.inventory.availability import units_available_sql
from emporium.inventory.models import StockPool
from emporium.journeys.models import CartContact, CartReminder, PoolWatch, StockAlert

ACTIVE = "active"  # catalog's ProductStatus.ACTIVE, compared in SQL
_free = units_available_sql(StockPool.on_hand, StockPool.reserved)


@dataclass(frozen=True)
class CartCandidate:
    cart_id: int
    user_id: int | None
    email: str | None
    last_change: datetime
    reminders_sent: int


@dataclass(frozen=True)
class WatchedPool:
    pool_id: int
    name: str
    unit: str
    free: int
    threshold: int
    last_free: int | None  # None: never seen before
    low_armed: bool | None


class JourneyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self, table: Any) -> Any:
        """An INSERT that can say ON CONFLICT on this session's database."""
        dialect = self.session.get_bind().dialect.name
        return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)

    # Abandoned carts ----------------------------------------------------------------------------------

    async def abandoned_carts(
        self, *, now: datetime, first: datetime, second: datetime, oldest: datetime, after_id: int, limit: int
    ) -> list[CartCandidate]:
        """Carts last changed between ``oldest`` and ``first`` (the index on carts.updated_at), still live,
        with lines none of which changed since ``first``, with someone to tell (a customer, or a guest's
        checkout e-mail), at least one line still in stock, and a reminder due: the first not sent yet, or
        the second once idle since ``second``. Keyset by cart id, ``limit`` at a time."""
        line = CartItem.cart_id == Cart.id
        reminded = select(func.coalesce(func.max(CartReminder.reminder), 0)).where(
            CartReminder.cart_id == Cart.id
        )
        last_line = select(func.max(CartItem.updated_at)).where(line)
        in_stock = (
            select(CartItem.id)
            .join(ProductVariant, ProductVariant.id == CartItem.variant_id)
            .join(Product, Product.id == ProductVariant.product_id)
            .join(StockPool, StockPool.id == ProductVariant.pool_id)
            .where(
                line,
                ProductVariant.is_active.is_(True),
                Product.status == ACTIVE,
                units_available_sql(StockPool.on_hand, StockPool.reserved, ProductVariant.draw_per_unit) >= 1,
            )
        )
        query = (
            select(
                Cart.id,
                Cart.user_id,
                CartContact.email,
                Cart.updated_at,
                last_line.scalar_subquery(),
                reminded.scalar_subquery(),
            )
            .outerjoin(CartContact, CartContact.cart_id == Cart.id)
            .where(
                Cart.updated_at <= first,
                Cart.updated_at > oldest,
                Cart.expires_at > now,
                Cart.id > after_id,
                or_(Cart.user_id.is_not(None), CartContact.email.is_not(None)),
                ~exists().where(line, CartItem.updated_at > first),
                exists(in_stock),
                or_(
                    ~exists().where(CartReminder.cart_id == Cart.id),
                    and_(
                        Cart.updated_at <= second,
                        ~exists().where(CartReminder.cart_id == Cart.id, CartReminder.reminder >= 2),
                    ),
                ),
            )
            .order_by(Cart.id)
            .limit(limit)
        )
        rows = (await self.session.execute(query)).all()
        return [
            CartCandidate(
                cart_id=int(cart_id),
                user_id=None if user_id is None else int(user_id),
                email=email,
                last_change=max(cart_changed, line_changed or cart_changed),
                reminders_sent=int(sent or 0),
            )
            for cart_id, user_id, email, cart_changed, line_changed, sent in rows
        ]

    async def record_reminder(self, cart_id: int, reminder: int, now: datetime) -> bool:
        """Record a reminder as sent; False when it was recorded already (by this or another process)."""
        result = await self.session.execute(
            self._insert(CartReminder)
            .values(cart_id=cart_id, reminder=reminder, sent_at=now)
            .on_conflict_do_nothing(index_elements=["cart_id", "reminder"])
            .returning(CartReminder.id)
        )
        return result.scalar_one_or_none() is not None

    async def cart_lines(self, cart_id: int, limit: int) -> Sequence[Row[str, str, int]]:
        """The names (product, variant) and quantities of a cart's lines, for the reminder."""
        result = await self.session.execute(
            select(Product.name, ProductVariant.name, CartItem.quantity)
            .join(ProductVariant, ProductVariant.id == CartItem.variant_id)
            .join(Product, Product.id == ProductVariant.product_id)
            .where(CartItem.cart_id == cart_id)
            .order_by(CartItem.id)
            .limit(limit)
        )
        return result.all()

    async def cart(self, cart_id: int) -> Cart | None:
        return await self.session.get(Cart, cart_id)

    async def remember_contact(self, cart_id: int, email: str) -> None:
        """Keep (or replace) the e-mail a guest typed at checkout with their cart."""
        statement = self._insert(CartContact).values(cart_id=cart_id, email=email, created_at=utcnow())
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["cart_id"], set_={"email": statement.excluded.email}
            )
        )

    async def contact_of_cart(self, cart_id: int) -> str | None:
        result = await self.session.execute(select(CartContact.email).where(CartContact.cart_id == cart_id))
        return result.scalar_one_or_none()

    # Back in stock ------------------------------------------------------------------------------------

    async def variant(self, variant_id: int) -> Row[ProductVariant, Product, StockPool] | None:
        result = await self.session.execute(
            select(ProductVariant, Product, StockPool)
            .join(Product, Product.id == ProductVariant.product_id)
            .join(StockPool, StockPool.id == ProductVariant.pool_id)
            .where(ProductVariant.id == variant_id)
        )
        return result.one_or_none()

    async def add_alert(
        self, variant_id: int, *, user_id: int | None, email: str | None, locale: str | None, confirmed: bool
    ) -> StockAlert:
        """The alert of this person for this variant: made if missing (a second request changes nothing,
        except that a repeated, already-sent alert is armed again)."""
        key = ["variant_id", "user_id"] if user_id is not None else ["variant_id", "email"]
        now = utcnow()
        await self.session.execute(
            self._insert(StockAlert)
            .values(
                variant_id=variant_id,
                user_id=user_id,
                email=email,
                locale=locale,
                confirmed_at=now if confirmed else None,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=key)
        )
        owner = StockAlert.user_id == user_id if user_id is not None else StockAlert.email == email
        found = await self.session.execute(
            select(StockAlert)
            .where(StockAlert.variant_id == variant_id, owner)
            .execution_options(populate_existing=True)
        )
        alert = found.scalar_one()
        if alert.notified_at is not None:
            alert.notified_at = None
            alert.created_at = now
            await self.session.flush()
        return alert

    async def alert(self, alert_id: int) -> StockAlert | None:
        return await self.session.get(StockAlert, alert_id)

    async def take_pending_alerts(self, variant_id: int, limit: int, now: datetime) -> list[StockAlert]:
        """Mark up to ``limit`` confirmed, unsent alerts of the variant as sent (oldest first) and return
        them: an alert another process marked first is not among them."""
        chosen = (
            select(StockAlert.id)
            .where(
                StockAlert.variant_id == variant_id,
                StockAlert.notified_at.is_(None),
                StockAlert.confirmed_at.is_not(None),
            )
            .order_by(StockAlert.id)
            .limit(limit)
        )
        ids = list((await self.session.execute(chosen)).scalars())
        if not ids:
            return []
        marked = await self.session.execute(
            update(StockAlert)
            .where(StockAlert.id.in_(ids), StockAlert.notified_at.is_(None))
            .values(notified_at=now)
            .returning(StockAlert.id)
            .execution_options(synchronize_session=False)
        )
        taken = sorted(int(i) for i in marked.scalars())
        rows = await self.session.execute(
            select(StockAlert).where(StockAlert.id.in_(taken)).order_by(StockAlert.id)
        )
        return list(rows.scalars())

    async def delete_alert(self, alert_id: int) -> None:
        alert = await self.session.get(StockAlert, alert_id)
        if alert is not None:
            await self.session.delete(alert)
            await self.session.flush()

    # Pools watched for edges ----------------------------------------------------------------------------

    async def watched_pools(self, pool_ids: Collection[int]) -> list[WatchedPool]:
        """Each pool's figures now and as last seen. The watch rows need no lock of their own: the change
        being looked at holds the pools' rows until it commits (see edges.py)."""
        result = await self.session.execute(
            select(
                StockPool.id,
                StockPool.name,
                StockPool.unit,
                _free,
                StockPool.low_stock_threshold,
                PoolWatch.last_free,
                PoolWatch.low_armed,
            )
            .outerjoin(PoolWatch, PoolWatch.pool_id == StockPool.id)
            .where(StockPool.id.in_(sorted(pool_ids)))
            .order_by(StockPool.id)
        )
        return [
            WatchedPool(int(i), name, unit, int(free), int(low), last, armed)
            for i, name, unit, free, low, last, armed in result.all()
        ]

    async def save_watch(self, rows: Sequence[tuple[int, int, bool]]) -> None:
        """Remember each pool's ``(pool_id, free, low_armed)``."""
        if not rows:
            return
        now = utcnow()
        statement = self._insert(PoolWatch).values(
            [
                {"pool_id": p, "last_free": free, "low_armed": armed, "updated_at": now}
                for p, free, armed in rows
            ]
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["pool_id"],
                set_={
                    "last_free": statement.excluded.last_free,
                    "low_armed": statement.excluded.low_armed,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )

    async def variants_back(self, rises: Mapping[int, tuple[int, int]]) -> list[tuple[int, int, int]]:
        """Of the pools whose free stock rose (``pool_id: (before, after)``), the variants that could sell no
        unit with ``before`` free and can with ``after``, and have alerts waiting: ``(pool_id, variant_id,
        draw per unit)``. One statement for every pool of the change (a save of a hundred pools included)."""
        if not rises:
            return []
        waiting = exists().where(
            StockAlert.variant_id == ProductVariant.id,
            StockAlert.notified_at.is_(None),
            StockAlert.confirmed_at.is_not(None),
        )
        result = await self.session.execute(
            select(ProductVariant.pool_id, ProductVariant.id, ProductVariant.draw_per_unit)
            .where(ProductVariant.pool_id.in_(sorted(rises)), waiting)
            .order_by(ProductVariant.pool_id, ProductVariant.id)
        )
        return [
            (int(pool_id), int(variant_id), int(draw))
            for pool_id, variant_id, draw in result.all()
            if rises[int(pool_id)][0] < draw <= rises[int(pool_id)][1]
        ]

    async def count_notified_since(self, variant_id: int, since: datetime) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(StockAlert)
            .where(StockAlert.variant_id == variant_id, StockAlert.notified_at >= since)
        )
        return int(result.scalar_one())
