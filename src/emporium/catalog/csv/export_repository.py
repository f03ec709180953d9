"""Every SQL statement of the filtered catalog export (the back office's "export this filter"): products read
in id order a batch at a time, then the batch's variants, tags and pools."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from emporium.catalog.csv.filters import ExportFilter
from emporium.catalog.list_repository import in_stock_expression
from emporium.catalog.models import Category, Product, ProductTag, ProductVariant
from emporium.inventory.availability import units_available_sql
from emporium.inventory.models import StockPool

_variant = aliased(ProductVariant)
_pool = aliased(StockPool)
_member = aliased(Category)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _low_stock() -> ColumnElement[bool]:
    """An active variant of the product draws from a pool at or under its low-stock threshold."""
    free = units_available_sql(_pool.on_hand, _pool.reserved)
    return exists(
        select(_variant.id)
        .join(_pool, _pool.id == _variant.pool_id)
        .where(
            _variant.product_id == Product.id,
            _variant.is_active.is_(True),
            free <= _pool.low_stock_threshold,
        )
    )


def _conditions(chosen: ExportFilter, category_path: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if chosen.q:
        conditions.append(
            func.lower(Product.name).like(_like(chosen.q), escape="\\")
            | exists(
                select(_variant.id).where(
                    _variant.product_id == Product.id, func.lower(_variant.sku) == chosen.q.lower()
                )
            )
        )
    if category_path is not None:
        conditions.append(
            exists(
                select(_member.id).where(
                    _member.id == Product.category_id, _member.path.startswith(category_path)
                )
            )
        )
    if chosen.brand_id is not None:
        conditions.append(Product.brand_id == chosen.brand_id)
    if chosen.status:
        conditions.append(Product.status == chosen.status)
    if chosen.featured:
        conditions.append(Product.is_featured.is_(True))
    if chosen.stock == "out":
        conditions.append(~in_stock_expression())
    elif chosen.stock == "low":
        conditions.append(and_(in_stock_expression(), _low_stock()))
    elif chosen.stock == "in":
        conditions.append(and_(in_stock_expression(), ~_low_stock()))
    return conditions


class ExportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def category_path(self, category_id: int) -> str | None:
        return (
            await self.session.execute(select(Category.path).where(Category.id == category_id))
        ).scalar_one_or_none()

    async def products_after(
        self, chosen: ExportFilter, category_path: str | None, after_id: int, limit: int
    ) -> list[Product]:
        query = (
            select(Product)
            .where(Product.id > after_id, *_conditions(chosen, category_path))
            .order_by(Product.id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def variants_of(self, product_ids: Collection[int]) -> list[ProductVariant]:
        query = (
            select(ProductVariant)
            .where(ProductVariant.product_id.in_(product_ids))
            .order_by(ProductVariant.product_id, ProductVariant.position, ProductVariant.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def tags_of(self, product_ids: Collection[int]) -> list[ProductTag]:
        query = (
            select(ProductTag)
            .where(ProductTag.product_id.in_(product_ids))
            .order_by(ProductTag.product_id, ProductTag.tag)
        )
        return list((await self.session.execute(query)).scalars())

    async def pools(self, pool_ids: Collection[int]) -> list[StockPool]:
        return list(
            (await self.session.execute(select(StockPool).where(StockPool.id.in_(pool_ids)))).scalars()
        )

    async def shared_pools(self, pool_ids: Collection[int]) -> set[int]:
        """Which of these pools more than one variant draws from (in the whole catalog)."""
        query = (
            select(ProductVariant.pool_id)
            .where(ProductVariant.pool_id.in_(pool_ids))
            .group_by(ProductVariant.pool_id)
            .having(func.count() > 1)
        )
        return set((await self.session.execute(query)).scalars())
