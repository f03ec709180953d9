"""orders back office: saved order filters per staff member, refunds by line, and the order table's sorts

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00.000000

The two indexes on ``orders`` serve the back office's keyset-paginated table (newest or oldest first, by
total); they are plain CREATE INDEX on both databases, so SQLite keeps the table and its triggers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emporium.core.db import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_index("ix_orders_created_at_id", "orders", ["created_at", "id"])
    op.create_index("ix_orders_total_minor_id", "orders", ["total_minor", "id"])
    op.create_table(
        "saved_order_filters",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_order_filters_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_order_filters")),
        sa.UniqueConstraint("user_id", "name", name="uq_saved_order_filters_user_name"),
    )
    op.create_index(op.f("ix_saved_order_filters_user_id"), "saved_order_filters", ["user_id"])
    op.create_table(
        "refund_lines",
        sa.Column("id", _ID, nullable=False),
        sa.Column("transaction_id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("order_line_id", _ID, nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_refund_lines_amount_positive")),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_refund_lines_quantity_not_negative")),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["payment_transactions.id"],
            name=op.f("fk_refund_lines_transaction_id_payment_transactions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_refund_lines_order_id_orders"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_refund_lines_order_line_id_order_lines"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_lines")),
    )
    op.create_index(op.f("ix_refund_lines_transaction_id"), "refund_lines", ["transaction_id"])
    op.create_index(op.f("ix_refund_lines_order_id"), "refund_lines", ["order_id"])
    op.create_index(op.f("ix_refund_lines_order_line_id"), "refund_lines", ["order_line_id"])


def downgrade() -> None:
    op.drop_table("refund_lines")
    op.drop_table("saved_order_filters")
    op.drop_index("ix_orders_total_minor_id", table_name="orders")
    op.drop_index("ix_orders_created_at_id", table_name="orders")
