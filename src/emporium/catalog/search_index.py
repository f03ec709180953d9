# Statements are assembled from fixed fragments of this module; every value travels as a bound parameter.
# ruff: noqa: S608
"""Every SQL statement of product search, for both databases.

The index itself is built and kept current by triggers (migration 0003): on SQLite the FTS5 tables
``product_search_fts`` (weighted columns, porter stemming) and ``product_search_trigram`` (typo candidates);
on PostgreSQL the ``product_search`` table (weighted ``tsvector`` plus a ``words`` text under a pg_trgm GIN
index). Nothing here writes to it.

User input reaches SQL only as bound parameters; the full-text query strings are assembled from terms that
contain letters and digits only (see ``search.terms_of``), so no FTS or tsquery operator can be smuggled in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import ProductStatus
from emporium.core.params import MAX_ID

# How many indexed products are read to find close spellings of the query's words.
TYPO_CANDIDATES = 40
# pg_trgm word similarity a candidate needs ("jamon" ~ "jamun" is 0.5).
PG_WORD_SIMILARITY = 0.4

# Relevance weights: name, tags, brand, category, description (SQLite bm25 column weights; on PostgreSQL
# name is weight A, tags and brand B, category C, description D).
_BM25 = "bm25(product_search_fts, 10.0, 4.0, 4.0, 2.0, 1.0)"

_IN_STOCK_PROBE = (
    "SELECT 1 FROM product_variants v JOIN stock_pools sp ON sp.id = v.pool_id "
    "WHERE v.product_id = p.id AND v.is_active = :true AND sp.on_hand - sp.reserved >= v.draw_per_unit"
)
# As a filter: PostgreSQL may hash it over the whole catalog. As a column of each match: the OFFSET keeps
# it a per-row probe (see catalog/queries.in_stock_expression).
_IN_STOCK = f"EXISTS ({_IN_STOCK_PROBE})"
_IN_STOCK_PER_ROW = f"EXISTS ({_IN_STOCK_PROBE} LIMIT 1 OFFSET 0)"


@dataclass(frozen=True)
class SearchFilters:
    category: str | None = None  # id or slug; includes the category's descendants
    brand: str | None = None  # id or slug
    min_price_minor: int | None = None
    max_price_minor: int | None = None
    in_stock: bool | None = None


def _id_or_zero(value: str) -> int:
    return int(value) if value.isdigit() and len(value) <= 19 and int(value) <= MAX_ID else 0


def _filter_sql(filters: SearchFilters, params: dict[str, Any]) -> str:
    clauses: list[str] = []
    if filters.category is not None:
        params["category_id"] = _id_or_zero(filters.category)
        params["category_slug"] = filters.category
        clauses.append(
            "p.category_id IN (SELECT d.id FROM categories d JOIN categories f "
            "ON (f.path <> '/' AND d.path LIKE f.path || '%') OR d.id = f.id "
            "WHERE f.id = :category_id OR f.slug = :category_slug)"
        )
    if filters.brand is not None:
        params["brand_id"] = _id_or_zero(filters.brand)
        params["brand_slug"] = filters.brand
        clauses.append("p.brand_id IN (SELECT id FROM brands WHERE id = :brand_id OR slug = :brand_slug)")
    if filters.min_price_minor is not None:
        params["min_price"] = filters.min_price_minor
        clauses.append("p.price_min_minor >= :min_price")
    if filters.max_price_minor is not None:
        params["max_price"] = filters.max_price_minor
        clauses.append("p.price_min_minor <= :max_price")
    if filters.in_stock is not None:
        clauses.append(_IN_STOCK if filters.in_stock else f"NOT {_IN_STOCK}")
    return "".join(f" AND {clause}" for clause in clauses)


def sqlite_match(terms: Sequence[str], *, prefix_last: bool, column: str | None = None) -> str:
    """An FTS5 query: every term as a quoted string (operators inside quotes are plain words), all
    required, the last one as a prefix."""
    phrases = [f'"{term}"' for term in terms]
    if prefix_last and phrases:
        phrases[-1] += "*"
    query = " ".join(phrases)
    return f"{{{column}}} : ({query})" if column else query


def pg_tsquery(terms: Sequence[str], *, prefix_last: bool, weight: str = "") -> str:
    """A ``to_tsquery`` string: terms joined by ``&``, the last one as a prefix, optionally restricted to
    a weight (A = the name)."""
    parts = [f"{term}:{weight}" if weight else term for term in terms]
    if prefix_last and parts:
        parts[-1] = f"{terms[-1]}:*{weight}"
    return " & ".join(parts)


@asynccontextmanager
async def deferred_indexing(session: AsyncSession) -> AsyncIterator[bool]:
    """For a bulk load on PostgreSQL: inserts inside the block skip the per-statement indexing triggers
    (migration 0007), and the loader calls ``index_products`` once per batch. Yields False on SQLite,
    whose row triggers keep indexing as usual. The setting is local to the transaction and switched
    back off when the block ends, so nothing after it can forget to index."""
    if session.get_bind().dialect.name != "postgresql":
        yield False
        return
    await session.execute(text("SELECT set_config('emporium.search_deferred', 'on', true)"))
    try:
        yield True
    finally:
        await session.execute(text("SELECT set_config('emporium.search_deferred', 'off', true)"))


async def index_products(session: AsyncSession, product_ids: Sequence[int]) -> None:
    """Index (or re-index) these products now, in the caller's transaction (PostgreSQL)."""
    await session.execute(
        text("SELECT product_search_refresh(CAST(:ids AS BIGINT[]))"), {"ids": list(product_ids)}
    )


class SearchIndex:
    """Queries over the search index for one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgresql"

    def _matched(self, terms: Sequence[str], filters: SearchFilters, params: dict[str, Any]) -> str:
        """The CTE body: active products matching every term, with their relevance (higher is better)."""
        params["active"] = ProductStatus.ACTIVE.value
        params["true"] = True
        columns = (
            "p.id AS id, p.category_id AS category_id, p.brand_id AS brand_id, "
            "p.price_min_minor AS price_min_minor, p.rating_average AS rating_average, "
            f"CASE WHEN {_IN_STOCK_PER_ROW} THEN 1 ELSE 0 END AS in_stock"
        )
        where = f"p.status = :active{_filter_sql(filters, params)}"
        if self.postgres:
            params["tsquery"] = pg_tsquery(terms, prefix_last=True)
            return (
                f"SELECT {columns}, ts_rank(s.document, q.query) AS score "
                "FROM (SELECT to_tsquery('english', :tsquery) AS query) q "
                "JOIN product_search s ON s.document @@ q.query "
                f"JOIN products p ON p.id = s.product_id WHERE {where}"
            )
        params["match"] = sqlite_match(terms, prefix_last=True)
        return (
            f"SELECT {columns}, -{_BM25} AS score FROM product_search_fts "
            "JOIN products p ON p.id = product_search_fts.rowid "
            f"WHERE product_search_fts MATCH :match AND {where}"
        )

    async def facet_rows(
        self, terms: Sequence[str], filters: SearchFilters, band_edges: Sequence[int]
    ) -> Sequence[Row[Any]]:
        """Rows ``(kind, key, name, slug, n)``: the total, and counts by category, brand, price band (index
        into ``band_edges``), stock and minimum rating over the whole matching set."""
        params: dict[str, Any] = {}
        matched = self._matched(terms, filters, params)
        bands = " ".join(f"WHEN price_min_minor < :edge{i} THEN {i}" for i in range(len(band_edges)))
        params |= {f"edge{i}": edge for i, edge in enumerate(band_edges)}
        none = "CAST(NULL AS VARCHAR(200))"
        ratings = " UNION ALL ".join(
            f"SELECT 'rating', {stars}, {none}, {none}, "
            f"COALESCE(SUM(CASE WHEN rating_average >= {stars} THEN 1 ELSE 0 END), 0) FROM matched"
            for stars in (4, 3, 2, 1)
        )
        sql = f"""
            WITH matched AS MATERIALIZED ({matched})
            SELECT 'total' AS kind, CAST(NULL AS BIGINT) AS key, {none} AS name, {none} AS slug,
                   COUNT(*) AS n FROM matched
            UNION ALL
            SELECT 'category', c.id, c.name, c.slug, COUNT(*) FROM matched m
                JOIN categories c ON c.id = m.category_id GROUP BY c.id, c.name, c.slug
            UNION ALL
            SELECT 'brand', b.id, b.name, b.slug, COUNT(*) FROM matched m
                JOIN brands b ON b.id = m.brand_id GROUP BY b.id, b.name, b.slug
            UNION ALL
            SELECT 'price', band, {none}, {none}, COUNT(*) FROM (
                SELECT CASE {bands} ELSE {len(band_edges)} END AS band FROM matched
                WHERE price_min_minor IS NOT NULL) priced GROUP BY band
            UNION ALL
            SELECT 'stock', in_stock, {none}, {none}, COUNT(*) FROM matched GROUP BY in_stock
            UNION ALL
            {ratings}
        """
        return (await self.session.execute(text(sql), params)).all()

    async def page_rows(
        self, terms: Sequence[str], filters: SearchFilters, *, limit: int, offset: int
    ) -> Sequence[Row[Any]]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        matched = self._matched(terms, filters, params)
        sql = f"""
            WITH matched AS ({matched})
            SELECT p.id, p.name, p.slug, p.price_min_minor, p.price_max_minor, p.currency,
                   p.rating_average, p.rating_count, m.in_stock,
                   c.id AS category_id, c.name AS category_name, c.slug AS category_slug,
                   b.id AS brand_id, b.name AS brand_name, b.slug AS brand_slug
            FROM matched m JOIN products p ON p.id = m.id
            LEFT JOIN categories c ON c.id = p.category_id
            LEFT JOIN brands b ON b.id = p.brand_id
            ORDER BY m.score DESC, p.sold_count DESC, p.id
            LIMIT :limit OFFSET :offset
        """
        return (await self.session.execute(text(sql), params)).all()

    async def typo_candidates(self, terms: Sequence[str]) -> list[str]:
        """The indexed words (name, tags, brand, categories) of the products that share the most trigrams
        with the query's words: where a close spelling of a mistyped word is found."""
        usable = [term for term in terms if len(term) >= 3]
        if not usable:
            return []
        params: dict[str, Any] = {"active": ProductStatus.ACTIVE.value, "limit": TYPO_CANDIDATES}
        if self.postgres:
            await self.session.execute(
                text("SELECT set_config('pg_trgm.word_similarity_threshold', :threshold, true)"),
                {"threshold": str(PG_WORD_SIMILARITY)},
            )
            params |= {f"t{i}": term for i, term in enumerate(usable)}
            near = " OR ".join(f":t{i} <% s.words" for i in range(len(usable)))
            score = "GREATEST(" + ", ".join(f"word_similarity(:t{i}, s.words)" for i in range(len(usable)))
            sql = (
                "SELECT s.words FROM product_search s JOIN products p ON p.id = s.product_id "
                f"WHERE p.status = :active AND ({near}) ORDER BY {score}) DESC LIMIT :limit"
            )
        else:
            grams = sorted({term[i : i + 3] for term in usable for i in range(len(term) - 2)})
            params["match"] = " OR ".join(f'"{gram}"' for gram in grams)
            sql = (
                "SELECT t.words FROM product_search_trigram t JOIN products p ON p.id = t.rowid "
                "WHERE product_search_trigram MATCH :match AND p.status = :active "
                "ORDER BY bm25(product_search_trigram) LIMIT :limit"
            )
        return [str(words) for words in (await self.session.execute(text(sql), params)).scalars()]

    async def autocomplete_products(self, terms: Sequence[str], limit: int) -> Sequence[Row[Any]]:
        """Active products whose name holds every term, the last one as a prefix."""
        params: dict[str, Any] = {"active": ProductStatus.ACTIVE.value, "limit": limit}
        if self.postgres:
            params["tsquery"] = pg_tsquery(terms, prefix_last=True, weight="A")
            sql = (
                "SELECT p.id, p.name, p.slug FROM (SELECT to_tsquery('english', :tsquery) AS query) q "
                "JOIN product_search s ON s.document @@ q.query JOIN products p ON p.id = s.product_id "
                "WHERE p.status = :active "
                "ORDER BY ts_rank(s.document, q.query) DESC, p.sold_count DESC, p.id LIMIT :limit"
            )
        else:
            params["match"] = sqlite_match(terms, prefix_last=True, column="name")
            sql = (
                "SELECT p.id, p.name, p.slug FROM product_search_fts "
                "JOIN products p ON p.id = product_search_fts.rowid "
                "WHERE product_search_fts MATCH :match AND p.status = :active "
                f"ORDER BY {_BM25}, p.sold_count DESC, p.id LIMIT :limit"
            )
        return (await self.session.execute(text(sql), params)).all()

    async def autocomplete_names(self, prefix: str, limit: int) -> Sequence[Row[Any]]:
        """Categories, then brands, whose name starts with ``prefix`` (case-insensitive)."""
        escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        sql = """
            SELECT kind, id, name, slug FROM (
                SELECT 'category' AS kind, id, name, slug, 0 AS ord FROM categories
                    WHERE is_active = :true AND lower(name) LIKE :prefix ESCAPE '\\'
                UNION ALL
                SELECT 'brand', id, name, slug, 1 FROM brands
                    WHERE lower(name) LIKE :prefix ESCAPE '\\'
            ) found ORDER BY ord, name, id LIMIT :limit
        """
        params = {"prefix": f"{escaped}%", "limit": limit, "true": True}
        return (await self.session.execute(text(sql), params)).all()
