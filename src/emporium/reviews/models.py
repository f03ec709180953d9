"""Reviews, their votes and reports, each product's rating summary, and the review requests sent after
delivery.

A review counts in its product's summary exactly when its status is ``approved``; the summary
(``product_ratings``, per star) and the product's ``rating_average``/``rating_count`` change in the
transaction that changes what counts (reviews/summary.py).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SPAM = "spam"


# Why a review waits for a moderator (shown in the queue).
HELD_REASONS = ("new", "edited", "links", "banned_words", "honeypot", "reported")
MAX_TITLE = 120
MAX_BODY = 5000


class Review(IdMixin, TimestampMixin, Base):
    __tablename__ = "reviews"
    __table_args__ = (
        # One review per customer per product; an erased customer's reviews keep no owner.
        UniqueConstraint("product_id", "user_id", name="uq_reviews_product_user"),
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'spam')", name="status_known"),
        # The product page's sorts, each walking only the approved reviews of one product.
        Index("ix_reviews_product_status_created", "product_id", "status", "created_at", "id"),
        Index("ix_reviews_product_status_rating", "product_id", "status", "rating", "id"),
        Index("ix_reviews_product_status_helpful", "product_id", "status", "helpful_count", "id"),
        # The moderation queue by status, oldest first.
        Index("ix_reviews_status_id", "status", "id"),
    )

    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The name shown ("Ada L."); NULL once the author is erased, shown as "A customer".
    author_name: Mapped[str | None] = mapped_column(String(100))
    rating: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(MAX_TITLE), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.PENDING)
    held_reason: Mapped[str | None] = mapped_column(String(16))
    verified_purchase: Mapped[bool] = mapped_column(Boolean, default=False)
    helpful_count: Mapped[int] = mapped_column(Integer, default=0)
    not_helpful_count: Mapped[int] = mapped_column(Integer, default=0)
    # Reports since the last moderator decision.
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    moderation_note: Mapped[str | None] = mapped_column(String(500))
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moderated_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    client_address: Mapped[str | None] = mapped_column(String(64))


class ReviewVote(IdMixin, Base):
    __tablename__ = "review_votes"
    __table_args__ = (UniqueConstraint("review_id", "user_id", name="uq_review_votes_review_user"),)

    review_id: Mapped[int] = mapped_column(BigId, ForeignKey("reviews.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewReport(IdMixin, Base):
    __tablename__ = "review_reports"
    __table_args__ = (UniqueConstraint("review_id", "user_id", name="uq_review_reports_review_user"),)

    review_id: Mapped[int] = mapped_column(BigId, ForeignKey("reviews.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProductRating(Base):
    """How many approved reviews of a product gave each number of stars. Changed only by adding a
    difference in one statement (``stars_n = stars_n + :d``), so concurrent reviews never lose a count."""

    __tablename__ = "product_ratings"

    product_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    stars_1: Mapped[int] = mapped_column(Integer, default=0)
    stars_2: Mapped[int] = mapped_column(Integer, default=0)
    stars_3: Mapped[int] = mapped_column(Integer, default=0)
    stars_4: Mapped[int] = mapped_column(Integer, default=0)
    stars_5: Mapped[int] = mapped_column(Integer, default=0)


class ReviewRequest(IdMixin, Base):
    """One per order: asks the customer for a review some days after delivery."""

    __tablename__ = "review_requests"
    __table_args__ = (Index("ix_review_requests_due", "sent_at", "due_at"),)

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why nothing was sent (the customer opted out of promotional mail, the order has no products left).
    skipped: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
