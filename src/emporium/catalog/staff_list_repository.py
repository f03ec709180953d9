"""The SQL of the back office's product list: every status, searched by name or SKU, filtered by category,
brand, status, stock state and featured flag, sorted and read a keyset page at a time.

The page is chosen on ``products`` alone (with the filters' probes) and only its rows are joined to their
brand and category and probed for their variants and stock, as the storefront's list does. The same
conditions walk a filter by id for the bulk edits (``ids_after``), so a job and the page it came from
always agree on what "this filter" means.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    RowMapping,
    and_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from emporium.catalog.list_repository import conditions, in_stock_expression
from emporium.catalog.models import Brand, Category, Product, ProductVariant
from emporium.catalog.schemas import ProductFilters, StaffProductFilters, StaffSort
from emporium.core.db import plan_for_each_value
from emporium.core.keyset import Cursor
from emporium.inventory.availability import units_available_sql
from emporium.inventory.models import StockPool

# A product without a price sorts after every priced one, whichever way prices run.
_NO_PRICE_LOW = literal_column("9223372036854775807", BigInteger)
_NO_PRICE_HIGH = literal_column("-1", BigInteger)

_variant = aliased(ProductVariant)
_pool = aliased(StockPool)
_sku_variant = aliased(ProductVariant)


def like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _active_variant_of_product() -> ColumnElement[bool]:
    return and_(_variant.product_id == Product.id, _variant.is_active.is_(True))


def low_stock_expression() -> ColumnElement[bool]:
    """Some active variant draws from a pool at or below its low-stock threshold."""
    probe = (
        select(_variant.id)
        .join(_pool, _pool.id == _variant.pool_id)
        .where(
            _active_variant_of_product(),
            units_available_sql(_pool.on_hand, _pool.reserved) <= _pool.low_stock_threshold,
        )
    )
    return exists(probe)


def stock_units_expression() -> ColumnElement[int]:
    """What the product's active variants can sell, added up (a variant sharing a pool counts it too)."""
    units = units_available_sql(_pool.on_hand, _pool.reserved, _variant.draw_per_unit)
    total = (
        select(func.coalesce(func.sum(units), 0))
        .select_from(_variant)
        .join(_pool, _pool.id == _variant.pool_id)
        .where(_active_variant_of_product())
        .correlate(Product)
        .scalar_subquery()
    )
    return cast(total, BigInteger)


def _search_condition(q: str) -> ColumnElement[bool]:
    by_sku = select(_sku_variant.product_id).where(func.lower(_sku_variant.sku) == q.lower())
    return or_(
        func.lower(Product.name).like(like_pattern(q), escape="\\"),
        Product.id.in_(by_sku),
    )


def staff_conditions(filters: StaffProductFilters) -> list[ColumnElement[bool]]:
    """The WHERE of the staff list (the storefront's conditions for status, category with its
    descendants, brand and featured flag; the search and the stock states here)."""
    shared = ProductFilters(
        statuses=(filters.status,) if filters.status else None,
        category_id=filters.category_id,
        brand_id=filters.brand_id,
        featured=filters.featured,
    )
    found = list(conditions(shared))
    if filters.q:
        found.append(_search_condition(filters.q))
    if filters.stock == "out":
        found.append(~in_stock_expression())
    elif filters.stock == "low":
        found.extend([in_stock_expression(), low_stock_expression()])
    elif filters.stock == "in":
        found.extend([in_stock_expression(), ~low_stock_expression()])
    return found


def shared_values(filters: StaffProductFilters) -> dict[str, Any]:
    """The bound values of the storefront's conditions reused here (see list_repository.filter_values)."""
    values: dict[str, Any] = {}
    if filters.status:
        values["filter_statuses"] = [filters.status]
    if filters.category_id is not None:
        values["filter_category_id"] = filters.category_id
    if filters.brand_id is not None:
        values["filter_brand_id"] = filters.brand_id
    return values


def _sort_key(sort: StaffSort) -> ColumnElement[Any]:
    if sort == "name":
        return func.lower(Product.name)
    if sort == "price_asc":
        return func.coalesce(Product.price_min_minor, _NO_PRICE_LOW)
    if sort == "price_desc":
        return func.coalesce(Product.price_min_minor, _NO_PRICE_HIGH)
    if sort == "stock":
        return stock_units_expression()
    created: ColumnElement[Any] = Product.created_at.expression
    return created


def _descending(sort: StaffSort) -> bool:
    return sort in ("newest", "price_desc")


def cursor_value(sort: StaffSort, value: str | int | None) -> Any:
    """A cursor's value as the sort key compares it (a date for "newest")."""
    if sort == "newest" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


class StaffListRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, filters: StaffProductFilters, sort: StaffSort, after: Cursor | None, limit: int
    ) -> Sequence[RowMapping]:
        """``limit`` + 1 rows from after ``after``, so the caller knows whether another page follows."""
        if filters.q:
            await plan_for_each_value(self.session)
        key = _sort_key(sort)
        descending = _descending(sort)
        chosen = select(Product.id, key.label("sort_value")).where(*staff_conditions(filters))
        if after is not None:
            mark = tuple_(key, Product.id)
            edge = tuple_(literal(cursor_value(sort, after.value), key.type), literal(after.id, BigInteger))
            chosen = chosen.where(mark < edge if descending else mark > edge)
        order = (key.desc(), Product.id.desc()) if descending else (key.asc(), Product.id.asc())
        picked = chosen.order_by(*order).limit(limit + 1).subquery("picked")
        statement = (
            select(
                Product.id,
                Product.name,
                Product.slug,
                Product.status,
                Product.is_featured,
                Product.currency,
                Product.price_min_minor,
                Product.price_max_minor,
                Product.created_at,
                Brand.name.label("brand_name"),
                Category.name.label("category_name"),
                picked.c.sort_value,
                in_stock_expression(per_row=True).label("sellable"),
                low_stock_expression().label("low"),
                stock_units_expression().label("units"),
                select(func.count(_variant.id))
                .where(_variant.product_id == Product.id)
                .correlate(Product)
                .scalar_subquery()
                .label("variant_count"),
                select(func.min(_variant.sku))
                .where(_variant.product_id == Product.id)
                .correlate(Product)
                .scalar_subquery()
                .label("sku"),
            )
            .select_from(picked)
            .join(Product, Product.id == picked.c.id)
            .outerjoin(Brand, Brand.id == Product.brand_id)
            .outerjoin(Category, Category.id == Product.category_id)
            .order_by(
                *(
                    (picked.c.sort_value.desc(), Product.id.desc())
                    if descending
                    else (picked.c.sort_value.asc(), Product.id.asc())
                )
            )
        )
        result = await self.session.execute(statement, shared_values(filters))
        return result.mappings().all()

    async def count(self, filters: StaffProductFilters, at_most: int | None = None) -> int:
        """How many products match; with ``at_most``, counting stops after ``at_most + 1``."""
        if filters.q:
            await plan_for_each_value(self.session)
        matching = select(Product.id).where(*staff_conditions(filters))
        if at_most is not None:
            matching = matching.limit(at_most + 1)
        total = await self.session.scalar(
            select(func.count()).select_from(matching.subquery()), shared_values(filters)
        )
        return int(total or 0)

    async def ids_after(self, filters: StaffProductFilters, after_id: int, limit: int) -> list[int]:
        """The next ``limit`` matching product ids above ``after_id``, in id order."""
        result = await self.session.scalars(
            select(Product.id)
            .where(*staff_conditions(filters), Product.id > after_id)
            .order_by(Product.id)
            .limit(limit),
            shared_values(filters),
        )
        return list(result.all())

    async def price_extremes(self, filters: StaffProductFilters) -> tuple[int | None, int | None]:
        """The lowest and highest variant price (compare-at prices included) of the matching products."""
        matching = select(Product.id).where(*staff_conditions(filters))
        row = (
            await self.session.execute(
                select(
                    func.min(ProductVariant.price_minor),
                    func.max(func.coalesce(ProductVariant.compare_at_minor, ProductVariant.price_minor)),
                    func.max(ProductVariant.price_minor),
                ).where(ProductVariant.product_id.in_(matching)),
                shared_values(filters),
            )
        ).one()
        highest = max((v for v in (row[1], row[2]) if v is not None), default=None)
        return row[0], highest

    async def known_ids(self, ids: Sequence[int]) -> list[int]:
        if not ids:
            return []
        result = await self.session.scalars(
            select(Product.id).where(Product.id.in_(ids)).order_by(Product.id)
        )
        return list(result.all())
