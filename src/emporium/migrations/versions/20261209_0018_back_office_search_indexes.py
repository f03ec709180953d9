"""back office searches: indexes for the lookups behind the global search, the order table and customers

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-09 09:00:00.000000

At 100,000 orders, 100,000 products and 20,000 customers every back-office search scanned a table: a SKU
compared in lower case (226,000 variants), a piece of a product's name, of an order's name or address, of a
customer's names or address (``LIKE '%...%'``). Each search now reads its text as one kind first (core/
search_text.py) and runs that kind's lookup, which these indexes answer:

- ``lower(sku)`` on variants, on both databases (SQLite uses it for the equality too);
- trigram indexes (GIN, pg_trgm, installed by migration 0003) for the contains-matches on PostgreSQL:
  ``lower()`` of products' names, of orders' contact names and e-mail addresses, and of users' e-mail
  addresses, first and last names;
- the order number's last seven characters on PostgreSQL (staff type the digits at its end), so that
  condition does not force a scan of the whole OR it is part of.

SQLite has no trigram index; its contains-matches scan, as before. Every index is built concurrently on
PostgreSQL (migrations/ops.py), so the shop keeps taking orders while they build; the four tables are then
analysed, since the planner knows how selective an expression is only from its statistics.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emporium.migrations.ops import create_index_concurrently, drop_index_concurrently

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (table, indexed expression)
_TRIGRAM = {
    "ix_products_name_trgm": ("products", "lower(name)"),
    "ix_orders_contact_name_trgm": ("orders", "lower(contact_name)"),
    "ix_orders_contact_email_trgm": ("orders", "lower(contact_email)"),
    "ix_users_email_trgm": ("users", "lower(email)"),
    "ix_users_first_name_trgm": ("users", "lower(first_name)"),
    "ix_users_last_name_trgm": ("users", "lower(last_name)"),
}


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    create_index_concurrently("ix_product_variants_sku_lower", "product_variants", [sa.text("lower(sku)")])
    if not _is_postgresql():
        return
    create_index_concurrently(
        "ix_orders_number_tail", "orders", [sa.text("substr(number, length(number) - 6)")]
    )
    for name, (table, expression) in _TRIGRAM.items():
        create_index_concurrently(
            name, table, [sa.text(f"{expression} gin_trgm_ops")], postgresql_using="gin"
        )
    # An expression index's statistics come with the next ANALYZE; until then the planner guesses how
    # often a text occurs and scanned all orders for a rare name (70 ms) instead of reading these indexes.
    op.execute("ANALYZE products, product_variants, orders, users")


def downgrade() -> None:
    if _is_postgresql():
        for name, (table, _) in _TRIGRAM.items():
            drop_index_concurrently(name, table)
        drop_index_concurrently("ix_orders_number_tail", "orders")
    drop_index_concurrently("ix_product_variants_sku_lower", "product_variants")
