# Statements are assembled from fixed fragments of this module; every value travels as a bound parameter.
# ruff: noqa: S608
"""The statement of a category page's facets: brands and option values (size, colour, weight), counted.

Counts follow the shopper's other choices, so that a facet of several values at once (several brands,
several colours) still shows what each further value would add: a brand's count is over the products that
match every filter but the brand, a colour's over those that match every filter but the colour (and so for
each option name). Price, rating and stock narrow every count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.list_repository import option_pairs, option_value
from emporium.catalog.models import ProductStatus
from emporium.catalog.schemas import ProductFilters
from emporium.core.db import read_alone
from emporium.inventory.availability import units_available_text


@lru_cache(maxsize=256)
def _statement(sql: str) -> TextClause:
    """One statement object per SQL text (which depends on which filters are set and how many values
    each has, never on the values): on PostgreSQL each is compiled once for asyncpg."""
    return text(sql)


_IN_STOCK = (
    "EXISTS (SELECT 1 FROM product_variants sv JOIN stock_pools sp ON sp.id = sv.pool_id "
    "WHERE sv.product_id = p.id AND sv.is_active = :true "
    f"AND {units_available_text('sp', 'sv.draw_per_unit')} >= 1)"
)


def _scope_sql(filters: ProductFilters, params: dict[str, Any]) -> str:
    """The active products of the category (and its descendants) that match price, rating and stock."""
    params["active"] = ProductStatus.ACTIVE.value
    clauses = ["p.status = :active"]
    if filters.category_id is not None:
        params["category_id"] = filters.category_id
        clauses.append(
            "p.category_id IN (SELECT d.id FROM categories d WHERE d.path LIKE "
            "(SELECT f.path FROM categories f WHERE f.id = :category_id) || '%')"
        )
    if filters.min_price_minor is not None:
        params["min_price"] = filters.min_price_minor
        clauses.append("p.price_min_minor >= :min_price")
    if filters.max_price_minor is not None:
        params["max_price"] = filters.max_price_minor
        clauses.append("p.price_min_minor <= :max_price")
    if filters.min_rating is not None:
        params["min_rating"] = filters.min_rating
        clauses.append("p.rating_average >= :min_rating")
    if filters.in_stock is not None:
        clauses.append(_IN_STOCK if filters.in_stock else f"NOT {_IN_STOCK}")
    # PostgreSQL: each product's option sets as kept on its row (migration 0028), so no variant is read.
    return "SELECT p.id, p.brand_id, p.option_sets FROM products p WHERE " + " AND ".join(clauses)


def _groups(postgres: bool) -> str:
    """CTEs ``groups (gid, brand_id, n)``: products alike for every count (the same brand, the same option
    sets), ``n`` of them; ``sets (options, name, value)``: each distinct option set's text unpacked once; and
    ``gpairs (gid, name, value)``: the option values of each group.

    PostgreSQL groups the products by brand and by the distinct option texts of their active variants, kept
    on the product row as a sorted JSON array (``option_sets``, migration 0028, written by the search
    index's refresh whenever a variant with options changes): 15,000 shirts in two colours of five and four
    sizes are a few dozen groups, so that everything after reading the products works on those, and no
    variant is read or its JSON unpacked but once per distinct set. SQLite (small catalogs) reads the
    variants and keeps a group per product."""
    value = option_value(postgres)
    unpacked = option_pairs(postgres, "t", text=True)
    if postgres:
        return f"""
        groups AS MATERIALIZED (
            SELECT ROW_NUMBER() OVER () AS gid, brand_id, sig, n FROM (
                SELECT s.brand_id, s.option_sets AS sig, COUNT(*) AS n FROM scope s
                GROUP BY s.brand_id, s.option_sets) alike),
        members AS MATERIALIZED (
            SELECT g.gid, u.options FROM groups g
            CROSS JOIN json_array_elements_text(CAST(COALESCE(g.sig, '[]') AS JSON)) AS u(options)),
        sets AS MATERIALIZED (
            SELECT t.options, oj.key AS name, {value} AS value
            FROM (SELECT DISTINCT options FROM members) t CROSS JOIN {unpacked} oj
            WHERE oj.key IS NOT NULL),
        gpairs AS MATERIALIZED (
            SELECT DISTINCT m.gid, e.name, e.value FROM members m JOIN sets e ON e.options = m.options)"""
    return f"""
        variants AS MATERIALIZED (
            SELECT v.product_id, CAST(v.options AS TEXT) AS options
            FROM scope s JOIN product_variants v ON v.product_id = s.id WHERE v.is_active = :true),
        sets AS MATERIALIZED (
            SELECT t.options, oj.key AS name, {value} AS value
            FROM (SELECT DISTINCT options FROM variants) t CROSS JOIN {unpacked} oj
            WHERE oj.key IS NOT NULL),
        groups AS MATERIALIZED (SELECT s.id AS gid, s.brand_id, 1 AS n FROM scope s),
        gpairs AS MATERIALIZED (
            SELECT DISTINCT v.product_id AS gid, e.name, e.value
            FROM variants v JOIN sets e ON e.options = v.options)"""


async def facet_rows(session: AsyncSession, filters: ProductFilters) -> Sequence[Mapping[Any, Any]]:
    """Rows ``(kind, name, value, label, n)``: ``('brand', NULL, slug, brand name, products)`` and
    ``('option', option name, value, value, products)``."""
    postgres = session.get_bind().dialect.name == "postgresql"
    params: dict[str, Any] = {"true": True}
    scope = _scope_sql(filters, params)
    chosen = list(filters.options or ())
    brands = list(filters.brand_slugs or ())
    # One flag per chosen option name: does the product have an active variant with a chosen value?
    flags: list[str] = []
    for i, (name, values) in enumerate(chosen):
        params[f"g{i}"] = name
        params |= {f"g{i}_{j}": value for j, value in enumerate(values)}
        listed = ", ".join(f":g{i}_{j}" for j in range(len(values)))
        flags.append(f"MAX(CASE WHEN name = :g{i} AND value IN ({listed}) THEN 1 ELSE 0 END) AS m{i}")
    params |= {f"b{j}": slug for j, slug in enumerate(brands)}
    brand_ok = (
        "g.brand_id IN (SELECT id FROM brands WHERE slug IN ({}))".format(
            ", ".join(f":b{j}" for j in range(len(brands)))
        )
        if brands
        else "1 = 1"
    )
    every_option = " AND ".join(f"COALESCE(h.m{i}, 0) = 1" for i in range(len(chosen))) or "1 = 1"
    # An option's count ignores its own name's choice, not the others'.
    other_options = (
        " AND ".join(f"(o.name = :g{i} OR COALESCE(h.m{i}, 0) = 1)" for i in range(len(chosen))) or "1 = 1"
    )
    matched = (
        f", matched AS MATERIALIZED (SELECT gid, {', '.join(flags)} FROM gpairs GROUP BY gid)"
        if chosen
        else ""
    )
    joined = "LEFT JOIN matched h ON h.gid = g.gid" if chosen else ""
    sql = f"""
        WITH scope AS MATERIALIZED ({scope}),
        {_groups(postgres)}{matched}
        SELECT 'brand' AS kind, CAST(NULL AS TEXT) AS name, CAST(b.slug AS TEXT) AS value,
               CAST(b.name AS TEXT) AS label, SUM(g.n) AS n
        FROM groups g JOIN brands b ON b.id = g.brand_id {joined}
        WHERE {every_option}
        GROUP BY b.slug, b.name
        UNION ALL
        SELECT 'option', o.name, o.value, o.value, SUM(g.n)
        FROM gpairs o JOIN groups g ON g.gid = o.gid {joined}
        WHERE {brand_ok} AND {other_options}
        GROUP BY o.name, o.value
    """
    return await read_alone(session, _statement(sql), params)
