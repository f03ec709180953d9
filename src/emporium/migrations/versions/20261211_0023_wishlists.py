"""wishlists and their items

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-11 12:00:00.000000

A customer's named lists (one the default, at most one by a partial unique index) or a guest's list found
by the digest of its token; a list shared by link is found by the digest of the link's token. Each item
is a product of the list (one line per product), with an optional chosen variant and the price it had
when it was added.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import emporium.core.db

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "wishlists",
        sa.Column("user_id", ID, nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("share_token_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", emporium.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", ID, nullable=False),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "user_id IS NOT NULL OR token_hash IS NOT NULL", name=op.f("ck_wishlists_has_owner")
        ),
        sa.CheckConstraint(
            "visibility IN ('private', 'link', 'public')", name=op.f("ck_wishlists_visibility_known")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_wishlists_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wishlists")),
        sa.UniqueConstraint("share_token_hash", name=op.f("uq_wishlists_share_token_hash")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_wishlists_token_hash")),
    )
    with op.batch_alter_table("wishlists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wishlists_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_wishlists_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(
            "uq_wishlists_one_default",
            ["user_id"],
            unique=True,
            postgresql_where=sa.text("is_default"),
            sqlite_where=sa.text("is_default"),
        )

    op.create_table(
        "wishlist_items",
        sa.Column("wishlist_id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("variant_id", ID, nullable=True),
        sa.Column("price_added_minor", sa.BigInteger(), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["wishlist_id"],
            ["wishlists.id"],
            name=op.f("fk_wishlist_items_wishlist_id_wishlists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_wishlist_items_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["product_variants.id"],
            name=op.f("fk_wishlist_items_variant_id_product_variants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wishlist_items")),
        sa.UniqueConstraint("wishlist_id", "product_id", name="uq_wishlist_items_list_product"),
    )
    with op.batch_alter_table("wishlist_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wishlist_items_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_wishlist_items_variant_id"), ["variant_id"], unique=False)


def downgrade() -> None:
    op.drop_table("wishlist_items")
    op.drop_table("wishlists")
