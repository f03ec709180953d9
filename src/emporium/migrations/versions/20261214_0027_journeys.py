"""journeys: abandoned-cart reminders, guest checkout e-mails, back-in-stock alerts, pool watch

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-14 09:00:00.000000

The reminders sent per cart (each once), the e-mail a guest typed at checkout, the back-in-stock alerts,
and what was last seen of each stock pool (filled from the pools as they stand, so the first change after
the upgrade is compared with the truth).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import emporium.core.db

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = emporium.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cart_reminders",
        sa.Column("cart_id", ID, nullable=False),
        sa.Column("reminder", sa.Integer(), nullable=False),
        sa.Column("sent_at", WHEN, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name=op.f("fk_cart_reminders_cart_id_carts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_reminders")),
        sa.UniqueConstraint("cart_id", "reminder", name="uq_cart_reminders_cart_reminder"),
    )
    op.create_table(
        "cart_contacts",
        sa.Column("cart_id", ID, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name=op.f("fk_cart_contacts_cart_id_carts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("cart_id", name=op.f("pk_cart_contacts")),
    )
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.create_index("ix_carts_updated_at", ["updated_at"], unique=False)
    op.create_table(
        "stock_alerts",
        sa.Column("variant_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("confirmed_at", WHEN, nullable=True),
        sa.Column("notified_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_stock_alerts_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["product_variants.id"],
            name=op.f("fk_stock_alerts_variant_id_product_variants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_alerts")),
        sa.UniqueConstraint("variant_id", "email", name="uq_stock_alerts_variant_email"),
        sa.UniqueConstraint("variant_id", "user_id", name="uq_stock_alerts_variant_user"),
    )
    with op.batch_alter_table("stock_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stock_alerts_variant_pending",
            ["variant_id", "notified_at", "confirmed_at", "id"],
            unique=False,
        )
    op.create_table(
        "pool_watch",
        sa.Column("pool_id", ID, nullable=False),
        sa.Column("last_free", sa.BigInteger(), nullable=False),
        sa.Column("low_armed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["stock_pools.id"],
            name=op.f("fk_pool_watch_pool_id_stock_pools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pool_id", name=op.f("pk_pool_watch")),
    )
    op.execute(
        "INSERT INTO pool_watch (pool_id, last_free, low_armed, updated_at) "
        "SELECT id, on_hand - reserved, (on_hand - reserved) > low_stock_threshold, CURRENT_TIMESTAMP "
        "FROM stock_pools"
    )


def downgrade() -> None:
    op.drop_table("pool_watch")
    with op.batch_alter_table("stock_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_alerts_variant_pending")
    op.drop_table("stock_alerts")
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.drop_index("ix_carts_updated_at")
    op.drop_table("cart_contacts")
    op.drop_table("cart_reminders")
