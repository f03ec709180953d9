"""products: the distinct option sets of each product's active variants, for the category facets

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-14 09:00:00.000000

A category page's facets group the category's products by brand and by the option sets (``{"size": "M",
"colour": "Navy"}``) of their active variants (catalog/search/facet_repository.py). Reading every variant
of a large category for that cost 16,000 index probes per page at 100,000 products; ``option_sets`` keeps
the answer on the product row, so the facets read the products alone.

- PostgreSQL: ``product_search_refresh``, which the variant triggers call whenever a variant with options
  is added, removed, switched on or off, moved or given other options (and the bulk loaders call for each
  chunk), also writes ``option_sets``: the JSON array of the distinct option texts of the product's active
  variants, sorted, without the empty ones (a variant without options adds no facet value, and the
  triggers skip it), or NULL for none. Every product is filled on the way up.
- SQLite: the column exists (the models are one for both) and stays NULL: its facets read the variants.
"""

# The SQL below is assembled from fixed fragments of this file and of migration 0013 only.
# ruff: noqa: S608

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The product's option sets, as the facets group them; ``p`` is the product.
OPTION_SETS = (
    "(SELECT CAST(json_agg(o.options ORDER BY o.options) AS TEXT) FROM ("
    "SELECT DISTINCT CAST(v.options AS TEXT) AS options FROM product_variants v "
    "WHERE v.product_id = p.id AND v.is_active AND CAST(v.options AS TEXT) <> '{}') o)"
)

_FILL = f"""
    UPDATE products p SET option_sets = {OPTION_SETS}
    WHERE p.id = ANY(ids) AND p.option_sets IS DISTINCT FROM {OPTION_SETS};"""


def _migration_0013() -> ModuleType:
    """Migration 0013, whose ``product_search_refresh`` this one extends (file names start with digits)."""
    path = Path(__file__).with_name("20261206_0013_search_option_values.py")
    spec = importlib.util.spec_from_file_location("emporium_migration_0013", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _refresh(with_option_sets: bool) -> str:
    """``product_search_refresh`` as 0013 wrote it, then (``with_option_sets``) the product's option sets."""
    function = str(_migration_0013()._refresh(with_options=True))
    if not with_option_sets:
        return function
    head, tail = function.rsplit("$$", 1)
    return f"{head}{_FILL}\n$${tail}"


def upgrade() -> None:
    op.add_column("products", sa.Column("option_sets", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_refresh(with_option_sets=True))
        op.execute(f"UPDATE products p SET option_sets = {OPTION_SETS}")
        op.execute("ANALYZE products")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_refresh(with_option_sets=False))
    # Not in batch mode: rebuilding the table would drop SQLite's search triggers on it (migration 0013).
    op.execute("ALTER TABLE products DROP COLUMN option_sets")
