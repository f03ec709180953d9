"""products back office: the description as written, bulk edits run as jobs, and the staff list's sorts

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-10 09:00:00.000000

- ``products.description_source`` and ``description_format`` keep what the merchant wrote (Markdown or HTML)
  beside the sanitised HTML, so the editor can show it again; existing products have neither and the editor
  offers their stored HTML.
- ``product_bulk_edits``: a change to every product of a filter (publish, archive, feature, move, prices),
  carried out in batches by a background job whose progress staff watch.
- The back office lists products of every status at once, newest first, by name or by price:
  ``(created_at, id)``, ``(lower(name), id)`` and the price with "no price" sorted last either way serve those
  keyset pages (the shop's indexes all begin with the status). Built concurrently on PostgreSQL, so they
  come last.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emporium.core.db import UTCDateTime
from emporium.migrations.ops import create_index_concurrently, drop_index_concurrently

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: SQLite keeps the table (and its triggers) as it is.
    op.add_column("products", sa.Column("description_source", sa.Text(), nullable=True))
    op.add_column("products", sa.Column("description_format", sa.String(length=8), nullable=True))
    op.create_table(
        "product_bulk_edits",
        sa.Column("id", _ID, nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_user_id", _ID, nullable=True),
        sa.Column("actor_email", sa.String(length=320), nullable=True),
        sa.Column("actor_ip", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_product_bulk_edits_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_bulk_edits")),
    )
    create_index_concurrently("ix_products_created_at_id", "products", ["created_at", "id"])
    create_index_concurrently("ix_products_name_lower_id", "products", [sa.text("lower(name)"), "id"])
    create_index_concurrently(
        "ix_products_price_low_id",
        "products",
        [sa.text("coalesce(price_min_minor, 9223372036854775807)"), "id"],
    )
    create_index_concurrently(
        "ix_products_price_high_id", "products", [sa.text("coalesce(price_min_minor, -1)"), "id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE products")


def downgrade() -> None:
    drop_index_concurrently("ix_products_price_high_id", "products")
    drop_index_concurrently("ix_products_price_low_id", "products")
    drop_index_concurrently("ix_products_name_lower_id", "products")
    drop_index_concurrently("ix_products_created_at_id", "products")
    op.drop_table("product_bulk_edits")
    op.drop_column("products", "description_format")
    op.drop_column("products", "description_source")
