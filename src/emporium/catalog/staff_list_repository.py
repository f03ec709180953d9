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
    Select,
    Subquery,
    and_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    select,
    tuple_,
    union,
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
_named = aliased(Product)


def like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _active_variant_of_product() -> ColumnElement[bool]:
    return and_(_variant.product_id == Product.id, _variant.is_active.is_(True))


def low_stock_expression() -> ColumnElement[bool]:
    """Some active variant draws from a pool at or below its low-stock threshold. A correlated probe of two
    indexes per product (OFFSET 0 keeps PostgreSQL from hashing every variant of the shop first), as the
    stock filters use it too: the list reads products in its sort's order and stops at a page."""
    probe = (
        select(_variant.id)
        .join(_pool, _pool.id == _variant.pool_id)
        .where(
            _active_variant_of_product(),
            units_available_sql(_pool.on_hand, _pool.reserved) <= _pool.low_stock_threshold,
        )
        .offset(0)
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
    """A piece of the name or a whole SKU. Written as a union of two id lists, so each side reads its own
    index (the name's trigram index on PostgreSQL, ``lower(sku)``): an OR of the two scanned every product."""
    by_name = select(_named.id).where(func.lower(_named.name).like(like_pattern(q), escape="\\"))
    by_sku = select(_sku_variant.product_id).where(func.lower(_sku_variant.sku) == q.lower())
    return Product.id.in_(union(by_name, by_sku))


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
    sellable = in_stock_expression(per_row=True)
    if filters.stock == "out":
        found.append(~sellable)
    elif filters.stock == "low":
        found.extend([sellable, low_stock_expression()])
    elif filters.stock == "in":
        found.extend([sellable, ~low_stock_expression()])
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
    created: ColumnElement[Any] = Product.created_at.expression
    return created


def _stock_totals() -> Subquery:
    """What each product's active variants can sell, added up, for every product at once: one grouped pass
    over the variants (a correlated sum per product cost 100,000 probes to sort by it)."""
    units = units_available_sql(_pool.on_hand, _pool.reserved, _variant.draw_per_unit)
    return (
        select(_variant.product_id.label("product_id"), func.sum(units).label("units"))
        .join(_pool, _pool.id == _variant.pool_id)
        .where(_variant.is_active.is_(True))
        .group_by(_variant.product_id)
        .subquery("stock_totals")
    )


def _chosen(sort: StaffSort) -> tuple[Select[tuple[int, Any]], ColumnElement[Any]]:
    """The ids and sort values the page is picked from, and the sort key."""
    if sort == "stock":
        totals = _stock_totals()
        key: ColumnElement[Any] = cast(func.coalesce(totals.c.units, 0), BigInteger)
        found = select(Product.id, key.label("sort_value")).outerjoin(
            totals, totals.c.product_id == Product.id
        )
        return found, key
    key = _sort_key(sort)
    return select(Product.id, key.label("sort_value")), key


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
        descending = _descending(sort)
        chosen, key = _chosen(sort)
        chosen = chosen.where(*staff_conditions(filters))
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
