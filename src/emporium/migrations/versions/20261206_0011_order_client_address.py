"""orders: the client address an order was placed from, indexed for the cap on open unconfirmed orders

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 20:00:00.000000

Open cash-on-delivery and bank-transfer orders are capped per phone, per e-mail and per client address; the
phone and e-mail columns were already indexed. Orders placed before this revision have no address (NULL) and
count towards no address's cap.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (no batch rebuild, so SQLite keeps its triggers).
    op.add_column("orders", sa.Column("client_address", sa.String(length=64), nullable=True))
    op.create_index("ix_orders_client_address", "orders", ["client_address"])


def downgrade() -> None:
    op.drop_index("ix_orders_client_address", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("client_address")
