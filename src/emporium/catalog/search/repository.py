# Statements are assembled from fixed fragments of this module; every value travels as a bound parameter.
# ruff: noqa: S608
"""Every SQL statement of product search, for both databases.

The index itself is built and kept current by triggers (migrations 0003 and 0008): on SQLite the FTS5
tables ``product_search_fts`` (weighted columns, porter stemming) and ``product_search_trigram`` (typo
candidates); on PostgreSQL the ``product_search`` table (weighted ``tsvector``, a ``words`` text, and the
columns search filters, counts and sorts by: status, category, brand, lowest price, rating, sold count and
an in-stock flag) and the ``product_search_words`` dictionary under a trigram index. Nothing here writes to
them.

On PostgreSQL a search reads ``product_search`` alone for the whole match (its facets and its ranking),
and joins ``products`` only for the page it shows; on SQLite the FTS5 match joins ``products``, whose
catalogs are small.

User input reaches SQL only as bound parameters; the full-text query strings are assembled from terms that
contain letters and digits only (see ``search.terms_of``), so no FTS or tsquery operator can be smuggled in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import ProductStatus
from emporium.catalog.search.schemas import SearchFilters
from emporium.core.db import read_alone
from emporium.core.params import MAX_ID
from emporium.inventory.availability import units_available_text

# The minimum ratings the rating facet counts (products rated at least 4, 3, 2, 1).
RATING_FLOORS: tuple[int, ...] = (4, 3, 2, 1)
# How many indexed products (SQLite) are read to find close spellings of the query's words.
TYPO_CANDIDATES = 40
# How many dictionary words (PostgreSQL), nearest by trigram distance, are offered for each mistyped word.
NEAREST_WORDS = 20

# Relevance weights: name, tags, brand, category, description (SQLite bm25 column weights; on PostgreSQL
# name is weight A, tags and brand B, category C, description D).
_BM25 = "bm25(product_search_fts, 10.0, 4.0, 4.0, 2.0, 1.0)"

_IN_STOCK_PROBE = (
    "SELECT 1 FROM product_variants v JOIN stock_pools sp ON sp.id = v.pool_id "
    "WHERE v.product_id = p.id AND v.is_active = :true "
    f"AND {units_available_text('sp', 'v.draw_per_unit')} >= 1"
)
# As a filter: PostgreSQL may hash it over the whole catalog. As a column of each match: the OFFSET keeps
# it a per-row probe (see catalog/list_repository.in_stock_expression).
_IN_STOCK = f"EXISTS ({_IN_STOCK_PROBE})"
# The parsed query, computed once: under a prepared statement's generic plan a flattened
# ``to_tsquery(:tsquery)`` is no constant, and ranking would parse it again for every match (+50 %).
_PG_QUERY = "(SELECT to_tsquery('english', :tsquery) AS query OFFSET 0) q"
_IN_STOCK_PER_ROW = f"EXISTS ({_IN_STOCK_PROBE} LIMIT 1 OFFSET 0)"
# What a hit of the page shows besides its id, name and slug: (column, the type its NULL takes on the
# other rows, since PostgreSQL types a UNION's column from its first branch, and where a hit reads it).
HIT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("price_min_minor", "BIGINT", "p.price_min_minor"),
    ("price_max_minor", "BIGINT", "p.price_max_minor"),
    ("currency", "VARCHAR(3)", "p.currency"),
    ("rating_average", "NUMERIC(3, 2)", "p.rating_average"),
    ("rating_count", "INTEGER", "p.rating_count"),
    ("in_stock", "INTEGER", "page.in_stock"),
    ("category_id", "BIGINT", "c.id"),
    ("category_name", "VARCHAR(120)", "c.name"),
    ("category_slug", "VARCHAR(140)", "c.slug"),
    ("brand_id", "BIGINT", "b.id"),
    ("brand_name", "VARCHAR(120)", "b.name"),
    ("brand_slug", "VARCHAR(140)", "b.slug"),
    # The first picture (by position), as on the category pages' cards; its files as JSON text, which
    # both databases and both read paths hand over alike.
    ("image_id", "BIGINT", "i.id"),
    ("image_variant_id", "BIGINT", "i.variant_id"),
    ("image_alt_text", "VARCHAR(300)", "i.alt_text"),
    ("image_position", "INTEGER", "i.position"),
    ("image_width", "INTEGER", "i.width"),
    ("image_height", "INTEGER", "i.height"),
    ("image_files", "TEXT", "CAST(i.files AS TEXT)"),
)
# The first picture of a hit: probed per hit row (at most a page of them), by ix_product_images_product_id.
_FIRST_IMAGE = (
    "LEFT JOIN product_images i ON i.id = (SELECT fi.id FROM product_images fi "
    "WHERE fi.product_id = p.id ORDER BY fi.position, fi.id LIMIT 1)"
)


@lru_cache(maxsize=512)
def _statement(sql: str, expanding: str | None = None) -> TextClause:
    """One statement object per SQL text (which depends on the filters and the number of terms, never
    on their values): on PostgreSQL each is then compiled once for asyncpg (``core.direct_reads``)."""
    statement = text(sql)
    return statement.bindparams(bindparam(expanding, expanding=True)) if expanding else statement


def _id_or_zero(value: str) -> int:
    return int(value) if value.isdigit() and len(value) <= 19 and int(value) <= MAX_ID else 0


def _filter_sql(filters: SearchFilters, params: dict[str, Any], *, postgres: bool) -> str:
    """Conditions over ``s`` (the PostgreSQL search document, which carries the filtered columns) or
    ``p`` (products, on SQLite)."""
    a = "s" if postgres else "p"
    clauses: list[str] = []
    if filters.category is not None:
        params["category_id"] = _id_or_zero(filters.category)
        params["category_slug"] = filters.category
        clauses.append(
            f"{a}.category_id IN (SELECT d.id FROM categories d JOIN categories f "
            "ON (f.path <> '/' AND d.path LIKE f.path || '%') OR d.id = f.id "
            "WHERE f.id = :category_id OR f.slug = :category_slug)"
        )
    if filters.brand is not None:
        params["brand_id"] = _id_or_zero(filters.brand)
        params["brand_slug"] = filters.brand
        clauses.append(f"{a}.brand_id IN (SELECT id FROM brands WHERE id = :brand_id OR slug = :brand_slug)")
    if filters.min_price_minor is not None:
        params["min_price"] = filters.min_price_minor
        clauses.append(f"{a}.price_min_minor >= :min_price")
    if filters.max_price_minor is not None:
        params["max_price"] = filters.max_price_minor
        clauses.append(f"{a}.price_min_minor <= :max_price")
    if filters.min_rating is not None:
        params["min_rating"] = filters.min_rating
        clauses.append(f"{a}.rating_average >= :min_rating")
    if filters.in_stock is not None:
        stocked = "s.in_stock" if postgres else _IN_STOCK
        clauses.append(stocked if filters.in_stock else f"NOT {stocked}")
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
    (migration 0007), and the loader calls ``index_products`` once for what it inserted. Yields False on
    SQLite, whose row triggers keep indexing as usual. The setting is local to the transaction and switched
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


def correctable_terms(terms: Sequence[str]) -> list[str]:
    """The distinct terms a dictionary word may correct (PostgreSQL). Digit-only terms are left out: the
    dictionary holds no numbers to correct them into."""
    return list(dict.fromkeys(t for t in terms if len(t) >= 3 and not t.isdigit()))


def _nearest_sql(terms: Sequence[str], params: dict[str, Any]) -> str:
    """Rows ``(n, d, word)``: the ``NEAREST_WORDS`` dictionary words nearest to ``terms[n]``, at trigram
    distance ``d``; none when the ``matched`` CTE of ``facet_rows`` holds a row (PostgreSQL then runs
    none of the index walks)."""
    params["nearest"] = NEAREST_WORDS
    params |= {f"t{i}": term for i, term in enumerate(terms)}
    return " UNION ALL ".join(
        f"SELECT {i} AS n, d, word FROM (SELECT word, word <-> :t{i} AS d FROM product_search_words "
        f"WHERE NOT EXISTS (SELECT 1 FROM matched) ORDER BY word <-> :t{i} LIMIT :nearest) w{i}"
        for i in range(len(terms))
    )


def _band_case(edge_count: int) -> str:
    """A match's price band: the index of the first edge its lowest price is under (NULL without one)."""
    bands = " ".join(f"WHEN price_min_minor < :edge{i} THEN {i}" for i in range(edge_count))
    return f"CASE WHEN price_min_minor IS NULL THEN NULL {bands} ELSE {edge_count} END"


def _stars_case() -> str:
    """A match's rating floor: the highest of ``RATING_FLOORS`` its average reaches, else 0."""
    floors = " ".join(f"WHEN rating_average >= {r} THEN {r}" for r in sorted(RATING_FLOORS, reverse=True))
    return f"CASE {floors} ELSE 0 END"


def _counts(edge_count: int) -> list[tuple[str, int | None, str]]:
    """The counts over the whole match that ``facet_rows`` answers first: (kind, key, which combos)."""
    counts: list[tuple[str, int | None, str]] = [("total", None, "1 = 1")]
    counts += [("stock", flag, f"in_stock = {flag}") for flag in (1, 0)]
    counts += [("rating", r, f"stars >= {r}") for r in sorted(RATING_FLOORS, reverse=True)]
    counts += [("price", i, f"band = {i}") for i in range(edge_count + 1)]
    return counts


def _count_fragments(counts: Sequence[tuple[str, int | None, str]]) -> tuple[str, str, str]:
    """The sums over the combos (``n0``, ``n1``, ...), the pick of each by its number, and the VALUES rows
    ``(kind, key, number)`` that turn the one row of sums into a row per count."""
    sums = ", ".join(
        f"COALESCE(SUM(CASE WHEN {condition} THEN n ELSE 0 END), 0) AS n{i}"
        for i, (_, _, condition) in enumerate(counts)
    )
    picks = " ".join(f"WHEN {i} THEN t.n{i}" for i in range(len(counts)))
    rows = ", ".join(
        f"('{kind}', {'NULL' if key is None else key}, {i})" for i, (kind, key, _) in enumerate(counts)
    )
    return sums, picks, rows


_NO_NAME = "CAST(NULL AS VARCHAR(200))"
# The hit columns, NULL on the rows that are no hit, and where a hit reads them.
_NO_HIT = ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind, _ in HIT_COLUMNS)
_HIT = ", ".join(source for _, _, source in HIT_COLUMNS)


class SearchIndex:
    """Queries over the search index for one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgresql"

    def _matched(self, terms: Sequence[str], filters: SearchFilters, params: dict[str, Any]) -> str:
        """The CTE body: active products matching every term, with their relevance (higher is better)
        and what the facets and the ordering need."""
        params["active"] = ProductStatus.ACTIVE.value
        params["true"] = True
        if self.postgres:
            params["tsquery"] = pg_tsquery(terms, prefix_last=True)
            return (
                "SELECT s.product_id AS id, s.category_id AS category_id, s.brand_id AS brand_id, "
                "s.price_min_minor AS price_min_minor, s.rating_average AS rating_average, "
                "CASE WHEN s.in_stock THEN 1 ELSE 0 END AS in_stock, s.sold_count AS sold_count, "
                "ts_rank(s.document, q.query) AS score "
                f"FROM {_PG_QUERY} "
                "JOIN product_search s ON s.document @@ q.query "
                f"WHERE s.status = :active{_filter_sql(filters, params, postgres=True)}"
            )
        params["match"] = sqlite_match(terms, prefix_last=True)
        return (
            "SELECT p.id AS id, p.category_id AS category_id, p.brand_id AS brand_id, "
            "p.price_min_minor AS price_min_minor, p.rating_average AS rating_average, "
            f"CASE WHEN {_IN_STOCK_PER_ROW} THEN 1 ELSE 0 END AS in_stock, p.sold_count AS sold_count, "
            f"-{_BM25} AS score FROM product_search_fts "
            "JOIN products p ON p.id = product_search_fts.rowid "
            "WHERE product_search_fts MATCH :match AND p.status = :active"
            f"{_filter_sql(filters, params, postgres=False)}"
        )

    async def facet_rows(
        self,
        terms: Sequence[str],
        filters: SearchFilters,
        band_edges: Sequence[int],
        *,
        limit: int = 20,
        offset: int = 0,
        nearest: bool = False,
    ) -> Sequence[Mapping[Any, Any]]:
        """One pass over the match. Rows ``(kind, key, name, slug, n)``: the total, and counts by category,
        brand, price band (index into ``band_edges``), stock and minimum rating over the whole matching
        set; and the requested page as ``('hit', product id, name, slug, position)`` followed by what a
        hit shows (``HIT_COLUMNS``), ranked by relevance, then sales, then id (a top-k sort, not an
        ordering of every match). The hit columns are NULL on the other rows.

        ``nearest`` (PostgreSQL): when nothing matched, also the dictionary words nearest to each of the
        ``correctable_terms`` by trigram distance, as ``('near', index of the term, word, NULL, rank)``
        (a k-nearest-neighbour walk of the GiST index, which does not start when something matched), so
        that a mistyped search costs no statement of its own to find its corrections."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        matched = self._matched(terms, filters, params)
        params |= {f"edge{i}": edge for i, edge in enumerate(band_edges)}
        # The match is folded once into its distinct (category, brand, price band, stock, rating floor)
        # combinations, a single hash aggregate over the matching rows; every count is then a sum over
        # those few rows, instead of a dozen CASE sums and two more groupings over every match.
        band, stars = _band_case(len(band_edges)), _stars_case()
        sums, picks, rows = _count_fragments(_counts(len(band_edges)))
        none, no_hit, hit = _NO_NAME, _NO_HIT, _HIT
        order = "score DESC, sold_count DESC, id"
        ranked = "page.score DESC, page.sold_count DESC, page.id"
        # Names are joined to the groups, not to every match.
        sql = f"""
            WITH matched AS MATERIALIZED ({matched}),
            combos AS MATERIALIZED (
                SELECT category_id, brand_id, {band} AS band, in_stock, {stars} AS stars, COUNT(*) AS n
                FROM matched GROUP BY 1, 2, 3, 4, 5),
            totals AS (SELECT {sums} FROM combos)
            SELECT v.column1 AS kind, CAST(v.column2 AS BIGINT) AS key, {none} AS name, {none} AS slug,
                   CAST(CASE v.column3 {picks} END AS BIGINT) AS n, {no_hit}
            FROM totals t CROSS JOIN (VALUES {rows}) v
            UNION ALL
            SELECT 'category', c.id, c.name, c.slug, g.n, {no_hit} FROM (
                SELECT category_id, CAST(SUM(n) AS BIGINT) AS n FROM combos GROUP BY category_id) g
                JOIN categories c ON c.id = g.category_id
            UNION ALL
            SELECT 'brand', b.id, b.name, b.slug, g.n, {no_hit} FROM (
                SELECT brand_id, CAST(SUM(n) AS BIGINT) AS n FROM combos GROUP BY brand_id) g
                JOIN brands b ON b.id = g.brand_id
            UNION ALL
            SELECT 'hit', p.id, p.name, p.slug, ROW_NUMBER() OVER (ORDER BY {ranked}), {hit}
            FROM (
                SELECT id, score, sold_count, in_stock FROM matched ORDER BY {order}
                LIMIT :limit OFFSET :offset
            ) page
            JOIN products p ON p.id = page.id
            LEFT JOIN categories c ON c.id = p.category_id
            LEFT JOIN brands b ON b.id = p.brand_id
            {_FIRST_IMAGE}
        """
        usable = correctable_terms(terms) if nearest and self.postgres else []
        if usable:
            words = _nearest_sql(usable, params)
            sql += f"""
            UNION ALL
            SELECT 'near', CAST(near.n AS BIGINT), CAST(near.word AS VARCHAR(200)), {none},
                   ROW_NUMBER() OVER (PARTITION BY near.n ORDER BY near.d, near.word), {no_hit}
            FROM ({words}) near
            """
        return await read_alone(self.session, _statement(sql), params)

    async def typo_candidates(self, terms: Sequence[str]) -> list[str]:
        """SQLite: the indexed words (name, tags, brand, categories) of the products that share the most
        trigrams with the query's words: where a close spelling of a mistyped word is found."""
        usable = [term for term in terms if len(term) >= 3]
        if not usable:
            return []
        grams = sorted({term[i : i + 3] for term in usable for i in range(len(term) - 2)})
        params: dict[str, Any] = {
            "active": ProductStatus.ACTIVE.value,
            "limit": TYPO_CANDIDATES,
            "match": " OR ".join(f'"{gram}"' for gram in grams),
        }
        sql = (
            "SELECT t.words FROM product_search_trigram t JOIN products p ON p.id = t.rowid "
            "WHERE product_search_trigram MATCH :match AND p.status = :active "
            "ORDER BY bm25(product_search_trigram) LIMIT :limit"
        )
        return [str(words) for words in (await self.session.execute(text(sql), params)).scalars()]

    async def autocomplete_rows(
        self, terms: Sequence[str], prefix: str | None, limit: int, *, nearest: bool = False
    ) -> Sequence[Mapping[Any, Any]]:
        """What the search box suggests, in one statement. Rows ``(kind, id, name, slug, n)``:
        ``('product', ...)``, the active products whose name holds every term (the last as a prefix),
        best first (``n`` their rank); with ``prefix``, ``('category' | 'brand', ...)``, those whose name
        starts with it (``n`` their order); and with ``nearest`` (PostgreSQL), when no product matched, the
        dictionary words nearest to each of the ``correctable_terms`` as ``('near', index of the term,
        word, NULL, rank)``, so that a mistyped prefix finds its corrections without a statement of its
        own (the walks do not start when a product matched)."""
        params: dict[str, Any] = {"active": ProductStatus.ACTIVE.value, "limit": limit}
        slug = "CAST(NULL AS VARCHAR(220))"
        if self.postgres:
            params["tsquery"] = pg_tsquery(terms, prefix_last=True, weight="A")
            # Ranked on the search document alone; products is read for the suggestions shown.
            sql = (
                "WITH matched AS MATERIALIZED ("
                "SELECT s.product_id, ts_rank(s.document, q.query) AS score, s.sold_count "
                f"FROM {_PG_QUERY} "
                "JOIN product_search s ON s.document @@ q.query WHERE s.status = :active "
                "ORDER BY score DESC, s.sold_count DESC, s.product_id LIMIT :limit) "
                "SELECT 'product' AS kind, p.id AS id, CAST(p.name AS TEXT) AS name, "
                "CAST(p.slug AS VARCHAR(220)) AS slug, "
                "ROW_NUMBER() OVER (ORDER BY m.score DESC, m.sold_count DESC, m.product_id) AS n "
                "FROM matched m JOIN products p ON p.id = m.product_id"
            )
        else:
            params["match"] = sqlite_match(terms, prefix_last=True, column="name")
            sql = (
                "SELECT 'product' AS kind, id, name, slug, "
                "ROW_NUMBER() OVER (ORDER BY rank, sold_count DESC, id) AS n FROM ("
                f"SELECT p.id, p.name, p.slug, {_BM25} AS rank, p.sold_count FROM product_search_fts "
                "JOIN products p ON p.id = product_search_fts.rowid "
                "WHERE product_search_fts MATCH :match AND p.status = :active "
                f"ORDER BY {_BM25}, p.sold_count DESC, p.id LIMIT :limit) matched"
            )
        if prefix is not None:
            escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params |= {"prefix": f"{escaped}%", "true": True}
            sql += """
            UNION ALL
            SELECT kind, id, name, slug, ROW_NUMBER() OVER (ORDER BY ord, name, id) FROM (
                SELECT kind, id, name, slug, ord FROM (
                    SELECT 'category' AS kind, id, CAST(name AS TEXT) AS name,
                        CAST(slug AS VARCHAR(220)) AS slug, 0 AS ord FROM categories
                        WHERE is_active = :true AND lower(name) LIKE :prefix ESCAPE '\\'
                    UNION ALL
                    SELECT 'brand', id, CAST(name AS TEXT), CAST(slug AS VARCHAR(220)), 1 FROM brands
                        WHERE lower(name) LIKE :prefix ESCAPE '\\'
                ) named ORDER BY ord, name, id LIMIT :limit
            ) names"""
        usable = correctable_terms(terms) if nearest and self.postgres else []
        if usable:
            words = _nearest_sql(usable, params)
            sql += f"""
            UNION ALL
            SELECT 'near', CAST(near.n AS BIGINT), CAST(near.word AS TEXT), {slug},
                   ROW_NUMBER() OVER (PARTITION BY near.n ORDER BY near.d, near.word)
            FROM ({words}) near"""
        return await read_alone(self.session, _statement(sql), params)
