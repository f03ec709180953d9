"""Filters and sorts of the product list, as SQL expressions on ``products`` (for the catalog's and the
facets' repositories).

Every filter is a condition on the ``products`` row or a correlated subquery, so the page and its count
are one statement whatever the filters, and "in stock" is computed in the page query itself. Filter
values are bind parameters, so a built statement can be kept per shape (see the repository).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import aliased

from emporium.catalog.models import Brand, Category, Product, ProductTag, ProductVariant
from emporium.catalog.schemas import ProductFilters, SortKey
from emporium.inventory.availability import units_available_sql
from emporium.inventory.models import StockPool

# Built once: making an alias per request cost more Python time than the list's SQL took to run.
_variant = aliased(ProductVariant)
_pool = aliased(StockPool)
_chosen = aliased(Category)
_member = aliased(Category)


def in_stock_expression(*, per_row: bool = False) -> ColumnElement[bool]:
    """True when at least one active variant of the product can still be bought once.

    ``per_row`` is for a shown column (a page of 20): PostgreSQL would otherwise turn the EXISTS into a
    hashed subplan of every in-stock product in the shop (0.8 s at 100k products) to answer 20 rows. An
    OFFSET keeps it a correlated probe of two indexes per row. As a filter over the whole catalog the
    hashed form is the right one, so conditions use the plain EXISTS."""
    variant, pool = _variant, _pool
    probe = (
        select(variant.id)
        .join(pool, pool.id == variant.pool_id)
        .where(
            variant.product_id == Product.id,
            variant.is_active.is_(True),
            units_available_sql(pool.on_hand, pool.reserved, variant.draw_per_unit) >= 1,
        )
    )
    return exists(probe.offset(0) if per_row else probe)


# Filters whose values are bound when the statement runs (``filter_values``), so one built statement
# serves every request of the same shape; ``in_stock`` and ``featured`` change the SQL itself.
_BOUND = (
    "statuses",
    "category_id",
    "category_slug",
    "brand_id",
    "brand_slug",
    "min_price_minor",
    "max_price_minor",
    "min_rating",
    "tag",
    "brand_slugs",
)


def _value(name: str, *, expanding: bool = False) -> BindParameter[Any]:
    # No value here: a statement run without its values fails instead of reusing another request's.
    return bindparam(f"filter_{name}", expanding=expanding)


def filter_shape(filters: ProductFilters) -> tuple[Any, ...]:
    """What the SQL of ``conditions(filters)`` depends on: which filters are set, the two flags, and how
    many values each option filter has."""
    options = tuple(len(values) for _, values in filters.options or ())
    return (
        *(getattr(filters, name) is not None for name in _BOUND),
        filters.in_stock,
        filters.featured,
        options,
    )


def filter_values(filters: ProductFilters) -> dict[str, Any]:
    """The bound values of ``conditions(filters)``."""
    values = {
        f"filter_{name}": getattr(filters, name) for name in _BOUND if getattr(filters, name) is not None
    }
    if filters.statuses is not None:
        values["filter_statuses"] = list(filters.statuses)
    if filters.brand_slugs is not None:
        values["filter_brand_slugs"] = list(filters.brand_slugs)
    for i, (name, chosen) in enumerate(filters.options or ()):
        values[f"filter_option{i}"] = name
        values |= {f"filter_option{i}_{j}": value for j, value in enumerate(chosen)}
    return values


def option_pairs(postgres: bool, variant: str = "ov", *, text: bool = False) -> str:
    """A FROM item of the (name, value) pairs of a variant's options, as ``key`` and ``value`` text; a
    variant whose options are not an object has none. ``text``: ``{variant}.options`` is their JSON text."""
    options = f"CAST({variant}.options AS JSON)" if text and postgres else f"{variant}.options"
    if postgres:
        return (
            f"json_each_text(CASE WHEN json_typeof({options}) = 'object' "
            f"THEN {options} ELSE CAST('{{}}' AS JSON) END)"
        )
    return f"json_each(CASE WHEN json_type({options}) = 'object' THEN {options} ELSE '{{}}' END)"


def option_value(postgres: bool, pairs: str = "oj") -> str:
    # SQLite hands a number of the JSON as a number: compared and shown as text, as PostgreSQL does.
    return f"{pairs}.value" if postgres else f"CAST({pairs}.value AS TEXT)"


def _option_condition(i: int, count: int, postgres: bool) -> ColumnElement[bool]:
    """The product has an active variant whose option ``filter_option{i}`` is one of its values."""
    values = ", ".join(f":filter_option{i}_{j}" for j in range(count))
    # Written as SQL: SQLAlchemy has no dialect-neutral way to unnest a JSON object. The text is fixed
    # fragments and counters; every value is bound.
    sql = (
        f"EXISTS (SELECT 1 FROM product_variants ov, {option_pairs(postgres)} oj "  # noqa: S608
        f"WHERE ov.product_id = products.id AND ov.is_active = true "
        f"AND oj.key = :filter_option{i} AND {option_value(postgres)} IN ({values}))"
    )
    return and_(text(sql))


def _category_condition(filters: ProductFilters) -> ColumnElement[bool]:
    """The category and its descendants: every category whose path starts with the chosen one's."""
    chosen, member = _chosen, _member
    picked = (
        chosen.id == _value("category_id")
        if filters.category_id is not None
        else chosen.slug == _value("category_slug")
    )
    prefix = select(chosen.path + "%").where(picked).scalar_subquery()
    return Product.category_id.in_(select(member.id).where(member.path.like(prefix)))


def conditions(filters: ProductFilters, *, postgres: bool = False) -> list[ColumnElement[bool]]:
    """The WHERE of a product list, its values left to ``filter_values`` (``postgres``: the dialect the
    option filters are written for)."""
    found = [
        *_where_conditions(filters),
        *(_option_condition(i, len(chosen), postgres) for i, (_, chosen) in enumerate(filters.options or ())),
        *_what_conditions(filters),
    ]
    return found or [~false()]


def _where_conditions(filters: ProductFilters) -> list[ColumnElement[bool]]:
    """Where a product is shelved: its status, its category (with descendants) and its brand."""
    found: list[ColumnElement[bool]] = []
    if filters.statuses is not None:
        found.append(Product.status.in_(_value("statuses", expanding=True)))
    if filters.category_id is not None or filters.category_slug is not None:
        found.append(_category_condition(filters))
    if filters.brand_id is not None:
        found.append(Product.brand_id == _value("brand_id"))
    elif filters.brand_slug is not None:
        found.append(Product.brand_id.in_(select(Brand.id).where(Brand.slug == _value("brand_slug"))))
    if filters.brand_slugs is not None:
        chosen_brands = Brand.slug.in_(_value("brand_slugs", expanding=True))
        found.append(Product.brand_id.in_(select(Brand.id).where(chosen_brands)))
    return found


def _what_conditions(filters: ProductFilters) -> list[ColumnElement[bool]]:
    """What a product is: its price, whether it is in stock or featured, its rating and its tag."""
    found: list[ColumnElement[bool]] = []
    if filters.min_price_minor is not None:
        found.append(Product.price_min_minor >= _value("min_price_minor"))
    if filters.max_price_minor is not None:
        found.append(Product.price_min_minor <= _value("max_price_minor"))
    if filters.in_stock is not None:
        stocked = in_stock_expression()
        found.append(stocked if filters.in_stock else ~stocked)
    if filters.featured is not None:
        found.append(Product.is_featured.is_(filters.featured))
    if filters.min_rating is not None:
        found.append(Product.rating_average >= _value("min_rating"))
    if filters.tag is not None:
        found.append(
            exists(
                select(ProductTag.tag).where(
                    and_(ProductTag.product_id == Product.id, ProductTag.tag == _value("tag"))
                )
            )
        )
    return found


def ordering(sort: SortKey) -> list[Any]:
    """The ORDER BY of a sort; the id last keeps pages stable when values tie."""
    if sort == "price_asc":
        return [Product.price_min_minor.asc().nulls_last(), Product.id.asc()]
    if sort == "price_desc":
        # As ix_products_status_price_high reads backwards: a product without a price (-1) comes last.
        # The -1 is written into the SQL: as a parameter, the expression would not be the index's.
        return [func.coalesce(Product.price_min_minor, literal_column("-1")).desc(), Product.id.desc()]
    if sort == "name":
        return [func.lower(Product.name).asc(), Product.id.asc()]
    if sort == "rating":
        return [Product.rating_average.desc(), Product.rating_count.desc(), Product.id.desc()]
    if sort == "popularity":
        return [Product.sold_count.desc(), Product.id.desc()]
    return [Product.created_at.desc(), Product.id.desc()]
