"""Carts: one per signed-in customer, or one per guest cart token (stored as a digest)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime

MAX_LINE_QUANTITY = 999


class Cart(IdMixin, TimestampMixin, Base):
    __tablename__ = "carts"
    __table_args__ = (CheckConstraint("user_id IS NOT NULL OR token_hash IS NOT NULL", name="has_owner"),)

    # A customer's cart; NULL for a guest cart.
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    # SHA-256 of the guest cart token (the token itself is never stored); NULL once merged or for users.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    # Refreshed on every change; a job removes carts past it.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class CartItem(IdMixin, TimestampMixin, Base):
    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id", name="uq_cart_items_cart_variant"),
        CheckConstraint(f"quantity >= 1 AND quantity <= {MAX_LINE_QUANTITY}", name="quantity_range"),
    )

    cart_id: Mapped[int] = mapped_column(BigId, ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("product_variants.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int] = mapped_column(Integer)
    # The unit price when the line was added or last acknowledged, for "the price changed" notices.
    price_seen_minor: Mapped[int] = mapped_column(BigInteger)
