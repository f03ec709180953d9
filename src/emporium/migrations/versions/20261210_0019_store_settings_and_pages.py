"""store: the shop's settings kept in the database, and its content pages

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10 09:00:00.000000

``store_settings`` has one row (id 1), created here with every value NULL: the environment's settings apply
until the merchant stores their own (store/profile.py). ``content_pages`` holds the pages the merchant wrote;
a page without a row shows its default text.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from emporium.core.db import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    store = op.create_table(
        "store_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("legal_name", sa.String(length=200), nullable=True),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("tax_id", sa.String(length=50), nullable=True),
        sa.Column("tax_id_label", sa.String(length=40), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("currency_display", sa.String(length=10), nullable=True),
        sa.Column("payment_methods", sa.JSON(), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_store_settings_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_settings")),
    )
    op.bulk_insert(store, [{"id": 1, "updated_at": datetime.now(UTC)}])
    op.create_table(
        "content_pages",
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_content_pages")),
    )


def downgrade() -> None:
    op.drop_table("content_pages")
    op.drop_table("store_settings")
