"""search: the option values of a product's active variants (colour, size, weight) are searchable

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 22:00:00.000000

"navy hoodie" finds the hoodies sold in navy. The values of every active variant's options join the
product's tags and brand (weight B on PostgreSQL, the FTS5 ``tags`` column on SQLite) and its typo words
(the PostgreSQL dictionary, the SQLite trigram table), so "navvy hoodie" is corrected too.

- PostgreSQL: ``product_search_refresh`` reads the values; the variant triggers of 0008 re-index a product
  when one of its variants that carries options is added, removed, switched on or off, moved or given other
  options (bulk loads defer the insert trigger as before, and index each chunk themselves). A variant without
  options still only recomputes the in-stock flag, and a stock movement touches no variant.
- SQLite: the 0003 triggers are recreated with the values in their statements, and three triggers on
  ``product_variants`` re-index the product. A later migration that rebuilds a watched table in batch mode
  must recreate them: ``sqlite_triggers()`` below gives their statements (it supersedes 0003's).

Every product is re-indexed on the way up and on the way down.
"""

# The SQL below is assembled from fixed fragments of this file only.
# ruff: noqa: S608

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A variant's options as SQLAlchemy writes an empty dict: such a variant changes no document, so the
# triggers skip the re-index for it (anything else re-indexes; a needless re-index is only slower).
_NO_OPTIONS = "'{}'"


# ---------------------------------------------------------------- SQLite: FTS5 (+ trigram table for typos)

# As migration 0003 (see there): description tags that spell real words are blanked.
_HTML_TAGS = (
    "<strong>", "</strong>", "<code>", "</code>", "<pre>", "</pre>", "<blockquote>", "</blockquote>",
    "&amp;", "&quot;", "&#x27;", "&#39;", "&lt;", "&gt;",
)  # fmt: skip


def _strip_html_sqlite(expr: str) -> str:
    for tag in _HTML_TAGS:
        expr = f"replace({expr}, '{tag}', ' ')"
    return expr


def _sqlite_refresh(where: str, with_options: bool) -> list[str]:
    """Statements that rewrite the index entries of the products selected by ``where`` (over ``p``);
    without ``with_options``, exactly those of migration 0003."""
    selected = f"SELECT p.id FROM products p WHERE {where}"
    ancestors = (
        "(SELECT group_concat(a.name, ' ') FROM categories a "
        "WHERE c.path LIKE a.path || '%' AND a.path <> '/')"
    )
    tags = "(SELECT group_concat(t.tag, ' ') FROM product_tags t WHERE t.product_id = p.id)"
    fts_tags = f"coalesce({tags}, '')"
    words = (
        f"p.name || ' ' || coalesce({tags}, '') || ' ' || coalesce(b.name, '') || ' '\n"
        f"               || coalesce({ancestors}, c.name, '')"
    )
    if with_options:
        # Each value once (the sizes of a colour repeat it), in the FTS5 tags column: weighted as tags.
        options = (
            "(SELECT group_concat(value, ' ') FROM (SELECT DISTINCT j.value AS value "
            "FROM product_variants v, json_each(v.options) j "
            "WHERE v.product_id = p.id AND v.is_active AND json_type(v.options) = 'object'))"
        )
        fts_tags = f"{fts_tags} || ' ' || coalesce({options}, '')"
        words = f"{words} || ' ' || coalesce({options}, '')"
    joins = "FROM products p LEFT JOIN brands b ON b.id = p.brand_id LEFT JOIN categories c ON c.id = p.category_id"
    return [
        f"DELETE FROM product_search_fts WHERE rowid IN ({selected})",
        f"DELETE FROM product_search_trigram WHERE rowid IN ({selected})",
        f"""INSERT INTO product_search_fts (rowid, name, tags, brand, category, description)
        SELECT p.id, p.name || ' ' || replace(p.name, '-', ''), {fts_tags}, coalesce(b.name, ''),
               coalesce({ancestors}, c.name, ''), {_strip_html_sqlite("p.description_html")}
        {joins} WHERE {where}""",
        f"""INSERT INTO product_search_trigram (rowid, words)
        SELECT p.id, lower({words})
        {joins} WHERE {where}""",
    ]


def _trigger(name: str, when: str, where: str, with_options: bool) -> str:
    body = ";\n".join(_sqlite_refresh(where, with_options))
    return f"CREATE TRIGGER {name} {when} BEGIN\n{body};\nEND"


# name: (event, which products), the 0003 triggers that re-index (its delete trigger only deletes).
_SQLITE_REFRESHING = {
    "product_search_products_insert": ("AFTER INSERT ON products", "p.id = NEW.id"),
    "product_search_products_update": (
        "AFTER UPDATE OF name, description_html, brand_id, category_id ON products",
        "p.id = NEW.id",
    ),
    "product_search_tags_insert": ("AFTER INSERT ON product_tags", "p.id = NEW.product_id"),
    "product_search_tags_delete": ("AFTER DELETE ON product_tags", "p.id = OLD.product_id"),
    "product_search_tags_update": (
        "AFTER UPDATE ON product_tags",
        "p.id IN (OLD.product_id, NEW.product_id)",
    ),
    "product_search_brands_update": ("AFTER UPDATE OF name ON brands", "p.brand_id = NEW.id"),
    "product_search_categories_update": (
        "AFTER UPDATE OF name, path ON categories",
        "p.category_id IN (SELECT d.id FROM categories d WHERE (NEW.path <> '/' AND d.path LIKE NEW.path || '%') OR d.id = NEW.id)",
    ),
}

# The variant triggers this revision adds: only a variant that is (or was) active with options can change
# what its product's entry says.
_SQLITE_VARIANTS = {
    "product_search_variants_insert": (
        f"AFTER INSERT ON product_variants WHEN NEW.is_active AND NEW.options <> {_NO_OPTIONS}",
        "p.id = NEW.product_id",
    ),
    "product_search_variants_delete": (
        f"AFTER DELETE ON product_variants WHEN OLD.is_active AND OLD.options <> {_NO_OPTIONS}",
        "p.id = OLD.product_id",
    ),
    "product_search_variants_update": (
        "AFTER UPDATE OF options, is_active, product_id ON product_variants WHEN "
        "(OLD.options IS NOT NEW.options OR OLD.is_active IS NOT NEW.is_active "
        "OR OLD.product_id IS NOT NEW.product_id) "
        f"AND (OLD.options <> {_NO_OPTIONS} OR NEW.options <> {_NO_OPTIONS})",
        "p.id IN (OLD.product_id, NEW.product_id)",
    ),
}


def sqlite_triggers() -> list[str]:
    """The statements of every SQLite trigger that re-indexes a product, as of this revision."""
    return [
        _trigger(name, when, where, with_options=True)
        for name, (when, where) in (_SQLITE_REFRESHING | _SQLITE_VARIANTS).items()
    ]


def _reindex_sqlite(with_options: bool) -> None:
    op.execute("DELETE FROM product_search_fts")
    op.execute("DELETE FROM product_search_trigram")
    for statement in _sqlite_refresh("1 = 1", with_options)[2:]:
        op.execute(statement)


def _upgrade_sqlite() -> None:
    for name in _SQLITE_REFRESHING:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in sqlite_triggers():
        op.execute(statement)
    _reindex_sqlite(with_options=True)


def _downgrade_sqlite() -> None:
    for name in (*_SQLITE_VARIANTS, *_SQLITE_REFRESHING):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name, (when, where) in _SQLITE_REFRESHING.items():
        op.execute(_trigger(name, when, where, with_options=False))
    _reindex_sqlite(with_options=False)


# ------------------------------------------------------------ PostgreSQL: weighted tsvector + dictionary

_DEFERRED = "IF current_setting('emporium.search_deferred', true) = 'on' THEN RETURN NULL; END IF;"

_IN_STOCK = (
    "EXISTS (SELECT 1 FROM product_variants v JOIN stock_pools sp ON sp.id = v.pool_id "
    "WHERE v.product_id = p.id AND v.is_active AND sp.on_hand - sp.reserved >= v.draw_per_unit)"
)

_COLUMN_NAMES = (
    "product_id",
    "document",
    "words",
    "status",
    "category_id",
    "brand_id",
    "price_min_minor",
    "rating_average",
    "sold_count",
    "in_stock",
)

# Each value once, whatever the number of variants carrying it; only JSON objects are unpacked.
_OPTIONS_JOIN = """
    LEFT JOIN LATERAL (
        SELECT string_agg(DISTINCT ov.value, ' ') AS options
        FROM product_variants v,
             json_each_text(CASE WHEN json_typeof(v.options) = 'object' THEN v.options ELSE '{}' END) ov
        WHERE v.product_id = p.id AND v.is_active
    ) o ON true"""


def _refresh(with_options: bool) -> str:
    """``product_search_refresh``; without ``with_options``, exactly as migration 0008 wrote it."""
    weight_b = "coalesce(t.tags, '') || ' ' || coalesce(b.name, '')"
    words = "p.name, t.tags, b.name, cat.names"
    if with_options:
        weight_b += " || ' ' || coalesce(o.options, '')"
        words += ", o.options"
    facts = "p.status, p.category_id, p.brand_id, p.price_min_minor, p.rating_average, p.sold_count"
    select = rf"""
    SELECT p.id,
           setweight(to_tsvector('english', p.name || ' ' || replace(p.name, '-', '')), 'A')
           || setweight(to_tsvector('english', {weight_b}), 'B')
           || setweight(to_tsvector('english', coalesce(cat.names, '')), 'C')
           || setweight(to_tsvector('english',
                  regexp_replace(p.description_html, '<[^>]*>|&[#a-zA-Z0-9]+;', ' ', 'g')), 'D'),
           lower(concat_ws(' ', {words})), {facts}, {_IN_STOCK}
    FROM products p
    LEFT JOIN brands b ON b.id = p.brand_id
    LEFT JOIN LATERAL (
        SELECT string_agg(pt.tag, ' ') AS tags FROM product_tags pt WHERE pt.product_id = p.id
    ) t ON true
    LEFT JOIN LATERAL (
        SELECT string_agg(a.name, ' ') AS names FROM categories c JOIN categories a
            ON c.path LIKE a.path || '%' AND a.path <> '/' OR a.id = c.id
        WHERE c.id = p.category_id
    ) cat ON true{_OPTIONS_JOIN if with_options else ""}
    WHERE p.id = ANY(ids)
"""
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in _COLUMN_NAMES[1:])
    return f"""
CREATE OR REPLACE FUNCTION product_search_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM product_search s WHERE s.product_id = ANY(ids)
        AND NOT EXISTS (SELECT 1 FROM products p WHERE p.id = s.product_id);
    INSERT INTO product_search ({", ".join(_COLUMN_NAMES)})
    {select}
    ON CONFLICT (product_id) DO UPDATE SET {updates};
$$
"""


# The 0008 variant trigger functions, then (with options) their replacements. A variant with options
# re-indexes its product, which also recomputes the in-stock flag; any other only recomputes the flag.
_VARIANT_FUNCTIONS_0008 = {
    "product_search_on_new_variants": f"""
        {_DEFERRED}
        PERFORM product_search_restock(ARRAY(SELECT DISTINCT product_id FROM new_rows));
        RETURN NULL;""",
    "product_search_on_old_variants": """
        PERFORM product_search_restock(ARRAY(SELECT DISTINCT product_id FROM old_rows));
        RETURN NULL;""",
    "product_search_on_variant": """
        PERFORM product_search_restock(ARRAY[OLD.product_id, NEW.product_id]);
        RETURN NULL;""",
}


def _described_then_restocked(rows: str) -> str:
    return f"""
        described := ARRAY(SELECT DISTINCT r.product_id FROM {rows} r
            WHERE r.is_active AND r.options::text <> {_NO_OPTIONS});
        IF cardinality(described) > 0 THEN
            PERFORM product_search_refresh(described);
        END IF;
        PERFORM product_search_restock(ARRAY(
            SELECT DISTINCT r.product_id FROM {rows} r WHERE r.product_id <> ALL(described)));
        RETURN NULL;"""


_VARIANT_FUNCTIONS = {
    "product_search_on_new_variants": f"""
        {_DEFERRED}{_described_then_restocked("new_rows")}""",
    "product_search_on_old_variants": _described_then_restocked("old_rows"),
    "product_search_on_variant": f"""
        IF (OLD.options::text IS DISTINCT FROM NEW.options::text OR OLD.is_active IS DISTINCT FROM NEW.is_active
                OR OLD.product_id IS DISTINCT FROM NEW.product_id)
            AND (OLD.options::text <> {_NO_OPTIONS} OR NEW.options::text <> {_NO_OPTIONS}) THEN
            PERFORM product_search_refresh(ARRAY[OLD.product_id, NEW.product_id]);
        ELSE
            PERFORM product_search_restock(ARRAY[OLD.product_id, NEW.product_id]);
        END IF;
        RETURN NULL;""",
}


def _variant_function(name: str, body: str) -> str:
    declare = "DECLARE described bigint[];\n" if "described" in body else ""
    return f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n{declare}BEGIN{body}\nEND\n$$"


# The row trigger on variant updates, as 0008 made it, and with options (JSON has no equality: compared
# as text, so a rewrite of the same options in the same order costs nothing).
_VARIANT_COLUMNS_0008 = ("product_id", "pool_id", "draw_per_unit", "is_active")


def _variant_trigger(with_options: bool) -> str:
    columns = (*_VARIANT_COLUMNS_0008, "options") if with_options else _VARIANT_COLUMNS_0008
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _VARIANT_COLUMNS_0008)
    if with_options:
        changed += " OR OLD.options::text IS DISTINCT FROM NEW.options::text"
    return (
        f"CREATE TRIGGER product_search_variants AFTER UPDATE OF {', '.join(columns)} ON product_variants "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION product_search_on_variant()"
    )


def _postgresql(with_options: bool) -> None:
    functions = _VARIANT_FUNCTIONS if with_options else _VARIANT_FUNCTIONS_0008
    op.execute(_refresh(with_options))
    for name, body in functions.items():
        op.execute(_variant_function(name, body))
    op.execute("DROP TRIGGER IF EXISTS product_search_variants ON product_variants")
    op.execute(_variant_trigger(with_options))
    op.execute("SELECT product_search_refresh(ARRAY(SELECT id FROM products))")
    op.execute("ANALYZE product_search")
    op.execute("ANALYZE product_search_words")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql(with_options=True)
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql(with_options=False)
    else:
        _downgrade_sqlite()
