"""search index: full text and trigram tables kept current by triggers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:10:00.000000

The index lives outside the SQLAlchemy models (FTS5 virtual tables on SQLite, a tsvector table on
PostgreSQL); autogenerate skips every table whose name starts with ``product_search`` (core/migrations.py).
Triggers on products, product_tags, brands and categories rewrite a product's entry in the same
transaction as the change, so no application code has to remember to reindex.

SQLite note: a later migration that rebuilds ``products``, ``product_tags``, ``brands`` or ``categories``
in batch mode (copy and rename) drops their triggers; such a migration must create them again
(``sqlite_triggers()`` below gives their statements).
"""

# The SQL below is assembled from fixed fragments of this file only.
# ruff: noqa: S608

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# ---------------------------------------------------------------- SQLite: FTS5 (+ trigram table for typos)

# Tags and entities of the sanitised description that spell real words are replaced by spaces, so that
# searching "strong" or "code" does not find every description with bold text. (SQLite cannot nest many
# more replace() calls: its parser stack is small. Short tag names such as p, li and em stay indexed; the
# description has the lowest weight.)
_HTML_TAGS = (
    "<strong>", "</strong>", "<code>", "</code>", "<pre>", "</pre>", "<blockquote>", "</blockquote>",
    "&amp;", "&quot;", "&#x27;", "&#39;", "&lt;", "&gt;",
)  # fmt: skip


def _strip_html_sqlite(expr: str) -> str:
    for tag in _HTML_TAGS:
        expr = f"replace({expr}, '{tag}', ' ')"
    return expr


def _sqlite_refresh(where: str) -> list[str]:
    """Statements that rewrite the index entries of the products selected by ``where`` (over ``p``)."""
    selected = f"SELECT p.id FROM products p WHERE {where}"
    ancestors = (
        "(SELECT group_concat(a.name, ' ') FROM categories a "
        "WHERE c.path LIKE a.path || '%' AND a.path <> '/')"
    )
    tags = "(SELECT group_concat(t.tag, ' ') FROM product_tags t WHERE t.product_id = p.id)"
    joins = "FROM products p LEFT JOIN brands b ON b.id = p.brand_id LEFT JOIN categories c ON c.id = p.category_id"
    return [
        f"DELETE FROM product_search_fts WHERE rowid IN ({selected})",
        f"DELETE FROM product_search_trigram WHERE rowid IN ({selected})",
        f"""INSERT INTO product_search_fts (rowid, name, tags, brand, category, description)
        SELECT p.id, p.name || ' ' || replace(p.name, '-', ''), coalesce({tags}, ''), coalesce(b.name, ''),
               coalesce({ancestors}, c.name, ''), {_strip_html_sqlite("p.description_html")}
        {joins} WHERE {where}""",
        f"""INSERT INTO product_search_trigram (rowid, words)
        SELECT p.id, lower(p.name || ' ' || coalesce({tags}, '') || ' ' || coalesce(b.name, '') || ' '
               || coalesce({ancestors}, c.name, ''))
        {joins} WHERE {where}""",
    ]


def _trigger(name: str, when: str, where: str) -> str:
    body = ";\n".join(_sqlite_refresh(where))
    return f"CREATE TRIGGER {name} {when} BEGIN\n{body};\nEND"


def sqlite_triggers() -> list[str]:
    return [
        _trigger("product_search_products_insert", "AFTER INSERT ON products", "p.id = NEW.id"),
        _trigger(
            "product_search_products_update",
            "AFTER UPDATE OF name, description_html, brand_id, category_id ON products",
            "p.id = NEW.id",
        ),
        """CREATE TRIGGER product_search_products_delete AFTER DELETE ON products BEGIN
            DELETE FROM product_search_fts WHERE rowid = OLD.id;
            DELETE FROM product_search_trigram WHERE rowid = OLD.id;
        END""",
        _trigger("product_search_tags_insert", "AFTER INSERT ON product_tags", "p.id = NEW.product_id"),
        _trigger("product_search_tags_delete", "AFTER DELETE ON product_tags", "p.id = OLD.product_id"),
        _trigger(
            "product_search_tags_update",
            "AFTER UPDATE ON product_tags",
            "p.id IN (OLD.product_id, NEW.product_id)",
        ),
        _trigger("product_search_brands_update", "AFTER UPDATE OF name ON brands", "p.brand_id = NEW.id"),
        _trigger(
            "product_search_categories_update",
            "AFTER UPDATE OF name, path ON categories",
            "p.category_id IN (SELECT d.id FROM categories d WHERE (NEW.path <> '/' AND d.path LIKE NEW.path || '%') OR d.id = NEW.id)",
        ),
    ]


_SQLITE_TRIGGER_NAMES = (
    "product_search_products_insert",
    "product_search_products_update",
    "product_search_products_delete",
    "product_search_tags_insert",
    "product_search_tags_delete",
    "product_search_tags_update",
    "product_search_brands_update",
    "product_search_categories_update",
)


def _upgrade_sqlite() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE product_search_fts USING fts5("
        "name, tags, brand, category, description, "
        "tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3')"
    )
    op.execute("CREATE VIRTUAL TABLE product_search_trigram USING fts5(words, tokenize = 'trigram')")
    for statement in sqlite_triggers():
        op.execute(statement)
    # Index what is already there.
    for statement in _sqlite_refresh("1 = 1")[2:]:
        op.execute(statement)


def _downgrade_sqlite() -> None:
    for name in _SQLITE_TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS product_search_trigram")
    op.execute("DROP TABLE IF EXISTS product_search_fts")


# ------------------------------------------------------------ PostgreSQL: weighted tsvector + pg_trgm

_PG_REFRESH = r"""
CREATE FUNCTION product_search_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM product_search s WHERE s.product_id = ANY(ids)
        AND NOT EXISTS (SELECT 1 FROM products p WHERE p.id = s.product_id);
    INSERT INTO product_search (product_id, document, words)
    SELECT p.id,
           setweight(to_tsvector('english', p.name || ' ' || replace(p.name, '-', '')), 'A')
           || setweight(to_tsvector('english', coalesce(t.tags, '') || ' ' || coalesce(b.name, '')), 'B')
           || setweight(to_tsvector('english', coalesce(cat.names, '')), 'C')
           || setweight(to_tsvector('english',
                  regexp_replace(p.description_html, '<[^>]*>|&[#a-zA-Z0-9]+;', ' ', 'g')), 'D'),
           lower(concat_ws(' ', p.name, t.tags, b.name, cat.names))
    FROM products p
    LEFT JOIN brands b ON b.id = p.brand_id
    LEFT JOIN LATERAL (
        SELECT string_agg(pt.tag, ' ') AS tags FROM product_tags pt WHERE pt.product_id = p.id
    ) t ON true
    LEFT JOIN LATERAL (
        SELECT string_agg(a.name, ' ') AS names FROM categories c JOIN categories a
            ON c.path LIKE a.path || '%' AND a.path <> '/' OR a.id = c.id
        WHERE c.id = p.category_id
    ) cat ON true
    WHERE p.id = ANY(ids)
    ON CONFLICT (product_id) DO UPDATE SET document = EXCLUDED.document, words = EXCLUDED.words;
$$
"""

_PG_TRIGGER_FUNCTIONS = {
    # Statement-level with transition tables: a batch insert of 500 products is indexed in one refresh,
    # not 500 (bulk imports and the benchmark catalog depend on it).
    "product_search_on_new_products": """
        PERFORM product_search_refresh(ARRAY(SELECT id FROM new_rows));
        RETURN NULL;""",
    "product_search_on_product": """
        PERFORM product_search_refresh(ARRAY[NEW.id]);
        RETURN NULL;""",
    "product_search_on_new_tags": """
        PERFORM product_search_refresh(ARRAY(SELECT DISTINCT product_id FROM new_rows));
        RETURN NULL;""",
    "product_search_on_old_tags": """
        PERFORM product_search_refresh(ARRAY(SELECT DISTINCT product_id FROM old_rows));
        RETURN NULL;""",
    "product_search_on_tag": """
        PERFORM product_search_refresh(ARRAY[NEW.product_id, OLD.product_id]);
        RETURN NULL;""",
    "product_search_on_brand": """
        PERFORM product_search_refresh(ARRAY(SELECT id FROM products WHERE brand_id = NEW.id));
        RETURN NULL;""",
    "product_search_on_category": """
        PERFORM product_search_refresh(ARRAY(
            SELECT p.id FROM products p JOIN categories d ON d.id = p.category_id
            WHERE (NEW.path <> '/' AND d.path LIKE NEW.path || '%') OR d.id = NEW.id));
        RETURN NULL;""",
}

# name: (event and table, FOR EACH ..., function). PostgreSQL allows transition tables only on triggers
# without a column list and for one event, hence the split between statement and row triggers.
_PG_TRIGGERS = {
    "product_search_products_insert": (
        "AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows",
        "STATEMENT",
        "product_search_on_new_products",
    ),
    "product_search_products": (
        "AFTER UPDATE OF name, description_html, brand_id, category_id ON products",
        "ROW",
        "product_search_on_product",
    ),
    "product_search_tags_insert": (
        "AFTER INSERT ON product_tags REFERENCING NEW TABLE AS new_rows",
        "STATEMENT",
        "product_search_on_new_tags",
    ),
    "product_search_tags_delete": (
        "AFTER DELETE ON product_tags REFERENCING OLD TABLE AS old_rows",
        "STATEMENT",
        "product_search_on_old_tags",
    ),
    "product_search_tags": ("AFTER UPDATE ON product_tags", "ROW", "product_search_on_tag"),
    "product_search_brands": ("AFTER UPDATE OF name ON brands", "ROW", "product_search_on_brand"),
    "product_search_categories": (
        "AFTER UPDATE OF name, path ON categories",
        "ROW",
        "product_search_on_category",
    ),
}


def _upgrade_postgresql() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE TABLE product_search ("
        "product_id BIGINT PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE, "
        "document TSVECTOR NOT NULL, words TEXT NOT NULL)"
    )
    op.execute("CREATE INDEX product_search_document ON product_search USING gin (document)")
    op.execute("CREATE INDEX product_search_words_trgm ON product_search USING gin (words gin_trgm_ops)")
    op.execute(_PG_REFRESH)
    for name, body in _PG_TRIGGER_FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN{body}\nEND\n$$")
    for name, (when, each, function) in _PG_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH {each} EXECUTE FUNCTION {function}()")
    op.execute("SELECT product_search_refresh(ARRAY(SELECT id FROM products))")


def _downgrade_postgresql() -> None:
    for name, (when, _each, _function) in _PG_TRIGGERS.items():
        table = when.split(" ON ", 1)[1].split()[0]
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for function in _PG_TRIGGER_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.execute("DROP FUNCTION IF EXISTS product_search_refresh(bigint[])")
    op.execute("DROP TABLE IF EXISTS product_search")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        _downgrade_sqlite()
