"""reviews: reviews, their votes and reports, per-star rating counts, review requests

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-11 09:00:00.000000

``product_ratings`` holds each product's count of approved reviews per star; the product's own
``rating_count`` and ``rating_average`` (read by the list, its facets and search's document) are set from it
in the same transaction (reviews/summary.py). ``review_requests`` has one row per order, so a customer is
asked once for each delivered order.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from emporium.core.db import UTCDateTime

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "product_ratings",
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("stars_1", sa.Integer(), nullable=False),
        sa.Column("stars_2", sa.Integer(), nullable=False),
        sa.Column("stars_3", sa.Integer(), nullable=False),
        sa.Column("stars_4", sa.Integer(), nullable=False),
        sa.Column("stars_5", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_ratings_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_product_ratings")),
    )
    op.create_table(
        "reviews",
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=True),
        sa.Column("author_name", sa.String(length=100), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("held_reason", sa.String(length=16), nullable=True),
        sa.Column("verified_purchase", sa.Boolean(), nullable=False),
        sa.Column("helpful_count", sa.Integer(), nullable=False),
        sa.Column("not_helpful_count", sa.Integer(), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("moderation_note", sa.String(length=500), nullable=True),
        sa.Column("moderated_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("moderated_by", _ID, nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("id", _ID, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'spam')", name=op.f("ck_reviews_status_known")
        ),
        sa.CheckConstraint("rating >= 1 AND rating <= 5", name=op.f("ck_reviews_rating_range")),
        sa.ForeignKeyConstraint(
            ["moderated_by"], ["users.id"], name=op.f("fk_reviews_moderated_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_reviews_product_id_products"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reviews_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("product_id", "user_id", name="uq_reviews_product_user"),
    )
    op.create_index(
        "ix_reviews_product_status_created",
        "reviews",
        ["product_id", "status", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_reviews_product_status_helpful",
        "reviews",
        ["product_id", "status", "helpful_count", "id"],
        unique=False,
    )
    op.create_index(
        "ix_reviews_product_status_rating", "reviews", ["product_id", "status", "rating", "id"], unique=False
    )
    op.create_index("ix_reviews_status_id", "reviews", ["status", "id"], unique=False)
    op.create_index(op.f("ix_reviews_user_id"), "reviews", ["user_id"], unique=False)

    op.create_table(
        "review_reports",
        sa.Column("review_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
            name=op.f("fk_review_reports_review_id_reviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_review_reports_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_reports")),
        sa.UniqueConstraint("review_id", "user_id", name="uq_review_reports_review_user"),
    )
    op.create_index(op.f("ix_review_reports_user_id"), "review_reports", ["user_id"], unique=False)

    op.create_table(
        "review_requests",
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("skipped", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_review_requests_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_requests")),
        sa.UniqueConstraint("order_id", name=op.f("uq_review_requests_order_id")),
    )
    op.create_index("ix_review_requests_due", "review_requests", ["sent_at", "due_at"], unique=False)

    op.create_table(
        "review_votes",
        sa.Column("review_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=True),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_review_votes_review_id_reviews"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_review_votes_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_votes")),
        sa.UniqueConstraint("review_id", "user_id", name="uq_review_votes_review_user"),
    )
    op.create_index(op.f("ix_review_votes_user_id"), "review_votes", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_review_votes_user_id"), table_name="review_votes")

    op.drop_table("review_votes")
    op.drop_index("ix_review_requests_due", table_name="review_requests")

    op.drop_table("review_requests")
    op.drop_index(op.f("ix_review_reports_user_id"), table_name="review_reports")

    op.drop_table("review_reports")
    op.drop_index(op.f("ix_reviews_user_id"), table_name="reviews")
    op.drop_index("ix_reviews_status_id", table_name="reviews")
    op.drop_index("ix_reviews_product_status_rating", table_name="reviews")
    op.drop_index("ix_reviews_product_status_helpful", table_name="reviews")
    op.drop_index("ix_reviews_product_status_created", table_name="reviews")

    op.drop_table("reviews")
    op.drop_table("product_ratings")
