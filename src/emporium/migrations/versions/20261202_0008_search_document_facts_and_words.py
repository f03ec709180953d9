"""search: facet columns and an in-stock flag on the PostgreSQL search document, and a word dictionary

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:00:00.000000

PostgreSQL only (SQLite keeps its FTS5 tables: its catalogs are small and its row triggers index as before).

- ``product_search`` carries what search filters, counts and sorts by: status, category, brand, lowest
  price, rating, sold count and an in-stock flag. A whole match, its facets and its ranking then read this
  one table; only the page of 20 joins ``products``.
  - ``product_search_refresh`` (re)writes them with the document.
  - A light row trigger copies status, price, rating and sold count when only those change on
    ``products``: a sold-count bump never re-runs ``to_tsvector`` (category and brand changes already
    re-index through the 0003 trigger).
  - The in-stock flag is recomputed only when a pool's availability crosses a variant's draw (or a
    variant is added, removed, moved or switched on or off). A reservation that leaves every draw on the
    same side costs the trigger's WHEN test and one indexed look-up of the pool's variants.
- ``product_search_words`` holds the distinct words (name, tags, brand, categories) of active products,
  under a trigram GiST index, so a typo is corrected by a nearest-neighbour search over a few thousand
  words instead of a similarity scan of every product. Digit-only words and words shorter than three
  letters are left out: no typo is ever corrected into them. Triggers on ``product_search`` add the words
  of new or re-activated entries (insert-or-ignore, so concurrent writers never wait on a shared row) and
  drop the words an entry loses when no other active product still uses them.
"""

# The SQL below is assembled from fixed fragments of this file only.
# ruff: noqa: S608

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFERRED = "IF current_setting('emporium.search_deferred', true) = 'on' THEN RETURN NULL; END IF;"

# Word boundaries of the indexed text: spaces and punctuation (non-ASCII letters stay inside words).
_SPLIT = "'[[:space:][:punct:]]+'"

_IN_STOCK = (
    "EXISTS (SELECT 1 FROM product_variants v JOIN stock_pools sp ON sp.id = v.pool_id "
    "WHERE v.product_id = p.id AND v.is_active AND sp.on_hand - sp.reserved >= v.draw_per_unit)"
)

_COLUMNS = (
    "ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'draft', "
    "ADD COLUMN category_id BIGINT, "
    "ADD COLUMN brand_id BIGINT, "
    "ADD COLUMN price_min_minor BIGINT, "
    "ADD COLUMN rating_average NUMERIC(3, 2) NOT NULL DEFAULT 0, "
    "ADD COLUMN sold_count BIGINT NOT NULL DEFAULT 0, "
    "ADD COLUMN in_stock BOOLEAN NOT NULL DEFAULT false"
)
_COLUMN_NAMES = (
    "status",
    "category_id",
    "brand_id",
    "price_min_minor",
    "rating_average",
    "sold_count",
    "in_stock",
)

_REFRESH_SELECT = r"""
    SELECT p.id,
           setweight(to_tsvector('english', p.name || ' ' || replace(p.name, '-', '')), 'A')
           || setweight(to_tsvector('english', coalesce(t.tags, '') || ' ' || coalesce(b.name, '')), 'B')
           || setweight(to_tsvector('english', coalesce(cat.names, '')), 'C')
           || setweight(to_tsvector('english',
                  regexp_replace(p.description_html, '<[^>]*>|&[#a-zA-Z0-9]+;', ' ', 'g')), 'D'),
           lower(concat_ws(' ', p.name, t.tags, b.name, cat.names)){facts}
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
"""


def _refresh(with_facts: bool) -> str:
    """``product_search_refresh`` as 0003 wrote it, plus (``with_facts``) the facet columns."""
    columns = ("product_id", "document", "words", *(_COLUMN_NAMES if with_facts else ()))
    facts = (
        ", p.status, p.category_id, p.brand_id, p.price_min_minor, p.rating_average, p.sold_count, "
        f"{_IN_STOCK}"
    )
    select = _REFRESH_SELECT.replace("{facts}", facts if with_facts else "")
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in columns[1:])
    return f"""
CREATE OR REPLACE FUNCTION product_search_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM product_search s WHERE s.product_id = ANY(ids)
        AND NOT EXISTS (SELECT 1 FROM products p WHERE p.id = s.product_id);
    INSERT INTO product_search ({", ".join(columns)})
    {select}
    ON CONFLICT (product_id) DO UPDATE SET {updates};
$$
"""


_FUNCTIONS = {
    # Recompute the in-stock flag of these products. No lock is taken on purpose: checkouts lock pools in
    # id order, and locking documents too (in another order) would let two checkouts deadlock. The flag
    # only steers search; see docs/decisions.md for the race it leaves.
    "product_search_restock(ids bigint[]) RETURNS void": f"""
        UPDATE product_search s SET in_stock = f.in_stock
        FROM (SELECT p.id, {_IN_STOCK} AS in_stock FROM unnest(ids) AS p(id)) f
        WHERE s.product_id = f.id AND s.in_stock <> f.in_stock;""",
    # Only the products with a variant whose draw the change crossed.
    "product_search_on_pool() RETURNS trigger": """
        flipped := ARRAY(
            SELECT DISTINCT v.product_id FROM product_variants v
            WHERE v.pool_id = NEW.id AND v.is_active
              AND (OLD.on_hand - OLD.reserved >= v.draw_per_unit)
                  <> (NEW.on_hand - NEW.reserved >= v.draw_per_unit));
        IF cardinality(flipped) > 0 THEN
            PERFORM product_search_restock(flipped);
        END IF;
        RETURN NULL;""",
    "product_search_on_new_variants() RETURNS trigger": f"""
        {_DEFERRED}
        PERFORM product_search_restock(ARRAY(SELECT DISTINCT product_id FROM new_rows));
        RETURN NULL;""",
    "product_search_on_old_variants() RETURNS trigger": """
        PERFORM product_search_restock(ARRAY(SELECT DISTINCT product_id FROM old_rows));
        RETURN NULL;""",
    "product_search_on_variant() RETURNS trigger": """
        PERFORM product_search_restock(ARRAY[OLD.product_id, NEW.product_id]);
        RETURN NULL;""",
    "product_search_on_product_facts() RETURNS trigger": """
        UPDATE product_search SET status = NEW.status, price_min_minor = NEW.price_min_minor,
            rating_average = NEW.rating_average, sold_count = NEW.sold_count
        WHERE product_id = NEW.id;
        RETURN NULL;""",
    # Dictionary upkeep, on the search table itself so that a product's deletion (a cascade) is seen too.
    "product_search_words_prune(candidates text[]) RETURNS void": r"""
        DELETE FROM product_search_words d WHERE d.word = ANY(candidates)
            AND NOT EXISTS (SELECT 1 FROM product_search s WHERE s.status = 'active'
                AND s.words ~ ('(^|[[:space:][:punct:]])' || d.word || '([[:space:][:punct:]]|$)'));""",
    "product_search_on_new_entries() RETURNS trigger": """
        INSERT INTO product_search_words (word)
        SELECT DISTINCT w.word FROM new_rows n, product_search_words_of(n.words) w(word)
        WHERE n.status = 'active' ORDER BY 1
        ON CONFLICT (word) DO NOTHING;
        RETURN NULL;""",
    "product_search_on_entry() RETURNS trigger": """
        IF NEW.status = 'active' THEN
            INSERT INTO product_search_words (word)
            SELECT w FROM product_search_words_of(NEW.words) w ORDER BY 1 ON CONFLICT (word) DO NOTHING;
        END IF;
        IF OLD.status = 'active' THEN
            PERFORM product_search_words_prune(ARRAY(
                SELECT product_search_words_of(OLD.words)
                EXCEPT SELECT product_search_words_of(NEW.words) WHERE NEW.status = 'active'));
        END IF;
        RETURN NULL;""",
    "product_search_on_old_entries() RETURNS trigger": """
        PERFORM product_search_words_prune(ARRAY(
            SELECT DISTINCT w.word FROM old_rows o, product_search_words_of(o.words) w(word)
            WHERE o.status = 'active'));
        RETURN NULL;""",
}

_WORDS_OF = f"""
CREATE FUNCTION product_search_words_of(words text) RETURNS SETOF text LANGUAGE sql IMMUTABLE AS $$
    SELECT DISTINCT w FROM regexp_split_to_table(words, {_SPLIT}) w
    WHERE length(w) >= 3 AND w !~ '^[0-9]+$'
$$
"""

_FACTS_CHANGED = " OR ".join(
    f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ("status", "price_min_minor", "rating_average", "sold_count")
)
_VARIANT_CHANGED = " OR ".join(
    f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ("product_id", "pool_id", "draw_per_unit", "is_active")
)

# name: (event and table, FOR EACH ..., WHEN, function)
_TRIGGERS = {
    "product_search_product_facts": (
        "AFTER UPDATE OF status, price_min_minor, rating_average, sold_count ON products",
        "ROW",
        _FACTS_CHANGED,
        "product_search_on_product_facts",
    ),
    "product_search_pools": (
        "AFTER UPDATE OF on_hand, reserved ON stock_pools",
        "ROW",
        "OLD.on_hand - OLD.reserved IS DISTINCT FROM NEW.on_hand - NEW.reserved",
        "product_search_on_pool",
    ),
    "product_search_variants_insert": (
        "AFTER INSERT ON product_variants REFERENCING NEW TABLE AS new_rows",
        "STATEMENT",
        None,
        "product_search_on_new_variants",
    ),
    "product_search_variants_delete": (
        "AFTER DELETE ON product_variants REFERENCING OLD TABLE AS old_rows",
        "STATEMENT",
        None,
        "product_search_on_old_variants",
    ),
    "product_search_variants": (
        "AFTER UPDATE OF product_id, pool_id, draw_per_unit, is_active ON product_variants",
        "ROW",
        _VARIANT_CHANGED,
        "product_search_on_variant",
    ),
    "product_search_entries_insert": (
        "AFTER INSERT ON product_search REFERENCING NEW TABLE AS new_rows",
        "STATEMENT",
        None,
        "product_search_on_new_entries",
    ),
    "product_search_entries": (
        "AFTER UPDATE OF words, status ON product_search",
        "ROW",
        "OLD.words IS DISTINCT FROM NEW.words OR OLD.status IS DISTINCT FROM NEW.status",
        "product_search_on_entry",
    ),
    "product_search_entries_delete": (
        "AFTER DELETE ON product_search REFERENCING OLD TABLE AS old_rows",
        "STATEMENT",
        None,
        "product_search_on_old_entries",
    ),
}


def _upgrade_postgresql() -> None:
    op.execute(f"ALTER TABLE product_search {_COLUMNS}")
    op.execute("CREATE TABLE product_search_words (word TEXT PRIMARY KEY)")
    op.execute(
        "CREATE INDEX product_search_words_word_trgm ON product_search_words USING gist (word gist_trgm_ops)"
    )
    op.execute(_WORDS_OF)
    for signature, body in _FUNCTIONS.items():
        declare = "DECLARE flipped bigint[];\n" if signature.startswith("product_search_on_pool(") else ""
        op.execute(f"CREATE FUNCTION {signature} LANGUAGE plpgsql AS $$\n{declare}BEGIN{body}\nEND\n$$")
    op.execute(_refresh(with_facts=True))
    # Fill the new columns and the dictionary for what is already indexed (before the triggers exist).
    op.execute(
        "UPDATE product_search s SET status = p.status, category_id = p.category_id, brand_id = p.brand_id, "
        "price_min_minor = p.price_min_minor, rating_average = p.rating_average, sold_count = p.sold_count, "
        f"in_stock = {_IN_STOCK} FROM products p WHERE p.id = s.product_id"
    )
    op.execute(
        "INSERT INTO product_search_words (word) SELECT DISTINCT w.word FROM product_search s, "
        "product_search_words_of(s.words) w(word) WHERE s.status = 'active' ON CONFLICT DO NOTHING"
    )
    for name, (when, each, condition, function) in _TRIGGERS.items():
        guard = f" WHEN ({condition})" if condition else ""
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH {each}{guard} EXECUTE FUNCTION {function}()")
    op.execute("ANALYZE product_search")
    op.execute("ANALYZE product_search_words")


def _downgrade_postgresql() -> None:
    for name, (when, _each, _condition, _function) in _TRIGGERS.items():
        table = when.split(" ON ", 1)[1].split()[0]
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for signature in _FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature.split(' RETURNS ', 1)[0]}")
    op.execute("DROP FUNCTION IF EXISTS product_search_words_of(text)")
    op.execute(_refresh(with_facts=False))
    op.execute("DROP TABLE IF EXISTS product_search_words")
    op.execute("ALTER TABLE product_search " + ", ".join(f"DROP COLUMN {c}" for c in _COLUMN_NAMES))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
