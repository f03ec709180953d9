"""Every SQL statement of the inventory domain: pools, their adjustments and the stock orders hold.

Inventory sits below the catalog (the catalog's variants draw from its pools and import its models), so it
imports nothing of the catalog: the few catalog columns it reads (which product and which variants draw
from a pool) are named here as plain tables, read-only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    CompoundSelect,
    Integer,
    Row,
    String,
    case,
    column,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    table,
    union,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import utcnow
from emporium.inventory.availability import units_available_sql
from emporium.inventory.models import StockAdjustment, StockPool

# The catalog's tables, as far as inventory reads them.
_products = table("products", column("id", BigInteger), column("name", String), column("slug", String))
_variants = table(
    "product_variants",
    column("id", BigInteger),
    column("product_id", BigInteger),
    column("pool_id", BigInteger),
    column("sku", String),
    column("name", String),
    column("is_active", Boolean),
    column("draw_per_unit", BigInteger),
    column("position", Integer),
)

# Who made an adjustment: the accounts' e-mail column, read only.
_users = table("users", column("id", BigInteger), column("email", String))

_free = units_available_sql(StockPool.on_hand, StockPool.reserved)
_low = _free <= StockPool.low_stock_threshold


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching_pools(query: str) -> CompoundSelect[int]:
    """The ids of the pools whose name contains ``query``, that a variant with the SKU ``query`` draws from
    (a whole SKU, in any case), or that a variant of a product whose name contains ``query`` draws from.
    Three lookups, each answered by an index on PostgreSQL (the pools' and the products' lower-case names
    by trigram, the SKU by ``lower(sku)``), united rather than ORed so that none turns into a scan."""
    pattern = _like(query)
    return union(
        select(StockPool.id).where(func.lower(StockPool.name).like(pattern, escape="\\")),
        select(_variants.c.pool_id).where(func.lower(_variants.c.sku) == query.lower()),
        select(_variants.c.pool_id)
        .join(_products, _products.c.id == _variants.c.product_id)
        .where(func.lower(_products.c.name).like(pattern, escape="\\")),
    )


def _amount(draws: Mapping[int, int]) -> ColumnElement[int]:
    """Each pool's own amount of ``draws``, as one CASE on the pool's id."""
    return case(dict(draws), value=StockPool.id)


class InventoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Pools ---------------------------------------------------------------------------------------------

    async def pool(self, pool_id: int) -> StockPool | None:
        return await self.session.get(StockPool, pool_id)

    async def pools(self, pool_ids: Sequence[int]) -> list[StockPool]:
        found: list[StockPool] = []
        ids = sorted(set(pool_ids))
        for start in range(0, len(ids), 10_000):  # the drivers' bound-parameter limits
            query = select(StockPool).where(StockPool.id.in_(ids[start : start + 10_000]))
            found += (await self.session.execute(query)).scalars()
        return found

    async def all_pools(self) -> list[StockPool]:
        return list((await self.session.execute(select(StockPool))).scalars())

    async def add_pools(self, pools: Sequence[StockPool]) -> None:
        """Insert new pools now, in one batched statement: their ids are needed at once."""
        self.session.add_all(pools)
        await self.session.flush()

    async def add_pool(self, pool: StockPool) -> StockPool:
        """Insert a new pool now: its id is needed at once (by the variant drawing from it)."""
        self.session.add(pool)
        await self.session.flush()
        return pool

    async def delete_unused_pools(self, pool_ids: Sequence[int]) -> None:
        """Remove those of the pools that no variant draws from any more (a deleted variant's own pool)."""
        if not pool_ids:
            return
        await self.session.execute(
            delete(StockPool).where(
                StockPool.id.in_(pool_ids),
                ~exists().where(_variants.c.pool_id == StockPool.id),
            )
        )

    async def lock_pools(self, pool_ids: Sequence[int]) -> list[StockPool]:
        """The pools, locked in id order (PostgreSQL) so that two writers never deadlock; SQLite writers
        are serialised by BEGIN IMMEDIATE already."""
        result = await self.session.execute(
            select(StockPool)
            .where(StockPool.id.in_(pool_ids))
            .order_by(StockPool.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def lock_free_stock(self, pool_ids: Sequence[int]) -> dict[int, int]:
        """Lock the pools in id order (as ``lock_pools``); each one's free stock."""
        result = await self.session.execute(
            select(StockPool.id, _free)
            .where(StockPool.id.in_(pool_ids))
            .order_by(StockPool.id)
            .with_for_update()
        )
        return {int(pool_id): int(free) for pool_id, free in result.all()}

    # Counts and adjustments ----------------------------------------------------------------------------

    async def write_pools(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """One batched UPDATE by primary key of pools already locked and checked (``lock_pools``); every
        row carries the same keys."""
        if rows:
            await self.session.execute(
                update(StockPool).execution_options(synchronize_session=False), list(rows)
            )

    async def set_on_hand(self, pool_id: int, on_hand: int) -> int | None:
        """Set the count unless it would fall below what is reserved; the new count, or None."""
        result = await self.session.execute(
            update(StockPool)
            .where(StockPool.id == pool_id, StockPool.reserved <= on_hand)
            .values(on_hand=on_hand)
            .returning(StockPool.on_hand)
        )
        value = result.scalar_one_or_none()
        return None if value is None else int(value)

    async def adjust(self, pool_id: int, delta: int) -> int | None:
        """One conditional UPDATE: the count moves by ``delta`` unless it would fall below what is reserved
        (or below zero). Concurrent adjustments queue on the row and each sees the others' result."""
        result = await self.session.execute(
            update(StockPool)
            .where(StockPool.id == pool_id, StockPool.on_hand + delta >= StockPool.reserved)
            .values(on_hand=StockPool.on_hand + delta)
            .returning(StockPool.on_hand)
        )
        value = result.scalar_one_or_none()
        return None if value is None else int(value)

    def record(
        self, pool_id: int, delta: int, on_hand_after: int, reason: str, actor_user_id: int | None
    ) -> StockAdjustment:
        adjustment = StockAdjustment(
            pool_id=pool_id,
            delta=delta,
            on_hand_after=on_hand_after,
            reason=reason,
            actor_user_id=actor_user_id,
        )
        self.session.add(adjustment)
        return adjustment

    async def record_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Several adjustments (``pool_id, delta, on_hand_after, reason, actor_user_id``) in one batch."""
        if rows:
            now = utcnow()
            await self.session.execute(insert(StockAdjustment), [{**row, "created_at": now} for row in rows])

    async def adjustments(self, pool_id: int, *, limit: int, offset: int) -> list[StockAdjustment]:
        result = await self.session.execute(
            select(StockAdjustment)
            .where(StockAdjustment.pool_id == pool_id)
            .order_by(StockAdjustment.created_at.desc(), StockAdjustment.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(result.scalars())

    async def count_adjustments(self, pool_id: int) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(StockAdjustment).where(StockAdjustment.pool_id == pool_id)
        )
        return int(result.scalar_one())

    # Stock held by orders (one statement for all the pools of an order) ------------------------------

    async def reserve(self, draws: Mapping[int, int]) -> set[int]:
        """Reserve each pool's draw where the pool still has it free; the ids of the pools reserved.

        One statement that first locks the pools in id order (its sub-select, as ``lock_free_stock``), then
        updates those that still have the draw free: a pool changed meanwhile is checked again at its
        newest version, so the condition holds when the row is written."""
        amount = _amount(draws)
        locked = select(StockPool.id).where(StockPool.id.in_(sorted(draws))).order_by(StockPool.id)
        result = await self.session.execute(
            update(StockPool)
            .where(StockPool.id.in_(locked.with_for_update()), _free >= amount)
            .values(reserved=StockPool.reserved + amount)
            .returning(StockPool.id)
            .execution_options(synchronize_session=False)
        )
        return {int(pool_id) for pool_id in result.scalars()}

    async def release(self, draws: Mapping[int, int]) -> None:
        amount = _amount(draws)
        await self.session.execute(
            update(StockPool)
            .where(StockPool.id.in_(sorted(draws)), StockPool.reserved >= amount)
            .values(reserved=StockPool.reserved - amount)
            .execution_options(synchronize_session=False)
        )

    async def deduct(self, draws: Mapping[int, int]) -> Sequence[Row[int, int]]:
        """Take each draw from both the count and the reservation; ``(pool_id, on_hand)`` after."""
        amount = _amount(draws)
        result = await self.session.execute(
            update(StockPool)
            .where(StockPool.id.in_(sorted(draws)), StockPool.reserved >= amount)
            .values(on_hand=StockPool.on_hand - amount, reserved=StockPool.reserved - amount)
            .returning(StockPool.id, StockPool.on_hand)
            .execution_options(synchronize_session=False)
        )
        return result.all()

    async def restock(self, draws: Mapping[int, int]) -> Sequence[Row[int, int]]:
        """Put each draw back on the count; ``(pool_id, on_hand)`` after."""
        amount = _amount(draws)
        result = await self.session.execute(
            update(StockPool)
            .where(StockPool.id.in_(sorted(draws)))
            .values(on_hand=StockPool.on_hand + amount)
            .returning(StockPool.id, StockPool.on_hand)
            .execution_options(synchronize_session=False)
        )
        return result.all()

    # Low stock -----------------------------------------------------------------------------------------

    async def low_stock_pools(self, *, limit: int, offset: int) -> list[StockPool]:
        result = await self.session.execute(
            select(StockPool).where(_low).order_by(_free.asc(), StockPool.id).limit(limit).offset(offset)
        )
        return list(result.scalars())

    async def count_low_stock_pools(self) -> int:
        result = await self.session.execute(select(func.count()).select_from(StockPool).where(_low))
        return int(result.scalar_one())

    # What draws from the pools (the catalog's rows, read by column) -----------------------------------

    async def product(self, product_id: int) -> Row[int, str] | None:
        """``(id, name)`` of the product, or None."""
        result = await self.session.execute(
            select(_products.c.id, _products.c.name).where(_products.c.id == product_id)
        )
        return result.first()

    async def variants_with_pools(
        self, product_id: int
    ) -> Sequence[Row[StockPool, int, str, str, bool, int]]:
        """``(pool, variant_id, sku, name, is_active, draw_per_unit)`` for each variant of the product."""
        result = await self.session.execute(
            select(
                StockPool,
                _variants.c.id,
                _variants.c.sku,
                _variants.c.name,
                _variants.c.is_active,
                _variants.c.draw_per_unit,
            )
            .join(_variants, _variants.c.pool_id == StockPool.id)
            .where(_variants.c.product_id == product_id)
            .order_by(_variants.c.position, _variants.c.id)
        )
        return result.all()

    async def products_drawing_from(self, pool_ids: Sequence[int]) -> Sequence[Row[int, int, str, str]]:
        """``(pool_id, product_id, name, slug)`` for every product with a variant on one of the pools."""
        if not pool_ids:
            return []
        result = await self.session.execute(
            select(_variants.c.pool_id, _products.c.id, _products.c.name, _products.c.slug)
            .join(_products, _products.c.id == _variants.c.product_id)
            .where(_variants.c.pool_id.in_(pool_ids))
            .distinct()
            .order_by(_variants.c.pool_id, _products.c.id)
        )
        return result.all()

    # The back office's pool list and a pool's history --------------------------------------------------

    async def pools_page(
        self,
        *,
        query: str,
        low_only: bool,
        out_only: bool,
        after: tuple[str, int] | None,
        limit: int,
    ) -> list[StockPool]:
        """Pools by name (then id), ``limit + 1`` from after the cursor ``(name, id)``: those matching
        ``query`` (``_matching_pools``); only the low (at or under the threshold) or empty ones when asked.
        One statement."""
        statement = select(StockPool)
        if query:
            statement = statement.where(StockPool.id.in_(_matching_pools(query)))
        if low_only:
            statement = statement.where(_low)
        if out_only:
            statement = statement.where(_free <= 0)
        if after is not None:
            name, last_id = after
            statement = statement.where(
                or_(StockPool.name > name, (StockPool.name == name) & (StockPool.id > last_id))
            )
        result = await self.session.execute(statement.order_by(StockPool.name, StockPool.id).limit(limit + 1))
        return list(result.scalars())

    async def variants_of_pools(
        self, pool_ids: Sequence[int]
    ) -> Sequence[Row[int, int, str, int, str, str, int]]:
        """``(pool_id, product_id, product_name, variant_id, sku, variant_name, draw_per_unit)`` of every
        variant drawing from one of the pools: one statement."""
        if not pool_ids:
            return []
        result = await self.session.execute(
            select(
                _variants.c.pool_id,
                _products.c.id,
                _products.c.name,
                _variants.c.id,
                _variants.c.sku,
                _variants.c.name,
                _variants.c.draw_per_unit,
            )
            .join(_products, _products.c.id == _variants.c.product_id)
            .where(_variants.c.pool_id.in_(pool_ids))
            .order_by(_variants.c.pool_id, _products.c.name, _variants.c.position, _variants.c.id)
        )
        return result.all()

    async def history_page(
        self, pool_id: int, *, before_id: int | None, limit: int
    ) -> Sequence[Row[StockAdjustment, str | None]]:
        """``(adjustment, actor e-mail)`` of the pool, newest first: ``limit + 1`` older than
        ``before_id``."""
        statement = (
            select(StockAdjustment, _users.c.email)
            .outerjoin(_users, _users.c.id == StockAdjustment.actor_user_id)
            .where(StockAdjustment.pool_id == pool_id)
        )
        if before_id is not None:
            statement = statement.where(StockAdjustment.id < before_id)
        result = await self.session.execute(statement.order_by(StockAdjustment.id.desc()).limit(limit + 1))
        return result.all()
