"""stock_pools: indexes for the back office's pool list

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-10 12:00:00.000000

/admin/inventory lists the pools by name, a page at a time after the last (name, id) shown, and finds them
by a piece of their name. At 100,000 products there are 200,000 pools and more: without an index each page
sorted them all, and each search scanned them. Now:

- ``(name, id)`` on both databases, which the pages walk in order;
- a trigram index (GIN, pg_trgm, installed by migration 0003) of ``lower(name)`` on PostgreSQL for the
  contains-match (the products' names and the variants' SKUs have theirs since migration 0018); SQLite has
  no trigram index and scans, as for the other searches.

Built concurrently on PostgreSQL (migrations/ops.py); the table is then analysed, since the planner knows
how selective an expression is only from its statistics.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emporium.migrations.ops import create_index_concurrently, drop_index_concurrently

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    create_index_concurrently("ix_stock_pools_name_id", "stock_pools", ["name", "id"])
    if not _is_postgresql():
        return
    create_index_concurrently(
        "ix_stock_pools_name_trgm",
        "stock_pools",
        [sa.text("lower(name) gin_trgm_ops")],
        postgresql_using="gin",
    )
    op.execute("ANALYZE stock_pools")


def downgrade() -> None:
    if _is_postgresql():
        drop_index_concurrently("ix_stock_pools_name_trgm", "stock_pools")
    drop_index_concurrently("ix_stock_pools_name_id", "stock_pools")
