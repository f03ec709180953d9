"""orders and payment_transactions: indexes for the back office's figures

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 12:00:00.000000

The figures read the orders that sold by when they were placed (a partial index; all orders by date use
0016's ``ix_orders_created_at_id``), each buyer's first sale (partial indexes of the sold orders by account
and by guest e-mail, read without visiting the orders) and refunds by when they were made. Built
concurrently on PostgreSQL (migrations/ops.py): orders and the ledger grow with the shop.
"""

from collections.abc import Sequence

from emporium.migrations.ops import create_index_concurrently, drop_index_concurrently

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOLD = "invoice_number IS NOT NULL AND status <> 'cancelled'"
SOLD_TO_GUEST = f"user_id IS NULL AND {SOLD}"
REFUNDED = "kind = 'refund' AND status = 'succeeded'"


def upgrade() -> None:
    create_index_concurrently("ix_orders_sold_created_at", "orders", ["created_at"], where=SOLD)
    create_index_concurrently("ix_orders_sold_user_id", "orders", ["user_id", "created_at"], where=SOLD)
    create_index_concurrently(
        "ix_orders_sold_guest_email", "orders", ["contact_email", "created_at"], where=SOLD_TO_GUEST
    )
    create_index_concurrently(
        "ix_payment_transactions_refunded_at", "payment_transactions", ["created_at"], where=REFUNDED
    )


def downgrade() -> None:
    drop_index_concurrently("ix_payment_transactions_refunded_at", "payment_transactions")
    drop_index_concurrently("ix_orders_sold_guest_email", "orders")
    drop_index_concurrently("ix_orders_sold_user_id", "orders")
    drop_index_concurrently("ix_orders_sold_created_at", "orders")
