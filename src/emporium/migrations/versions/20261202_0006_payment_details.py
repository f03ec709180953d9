"""payments: details shown to the shopper (next action, crypto address and amount, invoice) and expiry

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import emporium.core.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (no batch rebuild, so SQLite keeps its triggers).
    op.add_column("payments", sa.Column("details", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    op.add_column(
        "payments", sa.Column("expires_at", emporium.core.db.UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("details")
