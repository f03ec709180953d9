"""audit: the staff audit log

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 02:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emporium.core.db import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_email", sa.String(length=320), nullable=True),
        sa.Column("ip_address", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("object_label", sa.String(length=255), nullable=True),
        sa.Column("changes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_created", "audit_entries", ["created_at", "id"])
    op.create_index("ix_audit_entries_object", "audit_entries", ["object_type", "object_id", "id"])
    op.create_index("ix_audit_entries_actor", "audit_entries", ["actor_user_id", "id"])
    op.create_index("ix_audit_entries_action", "audit_entries", ["action", "id"])


def downgrade() -> None:
    op.drop_table("audit_entries")
