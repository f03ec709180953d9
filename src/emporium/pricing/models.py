"""Coupons and their redemptions, tax rates by country and region, shipping zones and methods.

Rates are integers in parts per million (8.875 % is 88_750) so they stay exact on SQLite too.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow

PPM = 1_000_000


class CouponKind(StrEnum):
    PERCENTAGE = "percentage"
    FIXED_AMOUNT = "fixed_amount"
    FREE_SHIPPING = "free_shipping"


class Coupon(IdMixin, TimestampMixin, Base):
    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint("used_count >= 0", name="used_count_not_negative"),
        CheckConstraint("usage_limit IS NULL OR used_count <= usage_limit", name="used_within_limit"),
        CheckConstraint(
            "percent_off_ppm IS NULL OR (percent_off_ppm > 0 AND percent_off_ppm <= 1000000)",
            name="percent_range",
        ),
        CheckConstraint("amount_off_minor IS NULL OR amount_off_minor > 0", name="amount_positive"),
    )

    # Stored upper-case; codes are matched case-insensitively.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(20))
    percent_off_ppm: Mapped[int | None] = mapped_column(Integer)
    amount_off_minor: Mapped[int | None] = mapped_column(BigInteger)
    min_subtotal_minor: Mapped[int | None] = mapped_column(BigInteger)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    # Counted with a conditional UPDATE at checkout, so a limit holds under concurrency.
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    # Empty lists: the coupon applies to the whole cart. Otherwise only to lines of these products or of
    # these categories (and their descendants).
    product_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    category_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class CouponRedemption(IdMixin, Base):
    """One use of a coupon by one order; the per-customer limit counts these."""

    __tablename__ = "coupon_redemptions"

    coupon_id: Mapped[int] = mapped_column(BigId, ForeignKey("coupons.id", ondelete="RESTRICT"), index=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # SHA-256 of the lower-cased contact e-mail, so guests are held to the per-customer limit too.
    email_digest: Mapped[str] = mapped_column(String(64), index=True)
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaxRate(IdMixin, TimestampMixin, Base):
    """A rate for a country, or for one region of it (``region`` "" means the whole country)."""

    __tablename__ = "tax_rates"
    __table_args__ = (
        UniqueConstraint("country", "region", name="uq_tax_rates_country_region"),
        CheckConstraint("rate_ppm >= 0 AND rate_ppm <= 1000000", name="rate_range"),
    )

    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(100), default="")
    name: Mapped[str] = mapped_column(String(100))
    rate_ppm: Mapped[int] = mapped_column(Integer)


class ShippingKind(StrEnum):
    FLAT_RATE = "flat_rate"
    FREE_ABOVE = "free_above"
    BY_WEIGHT = "by_weight"
    PICKUP = "pickup"


class ShippingZone(IdMixin, TimestampMixin, Base):
    """Countries served together; ``countries`` holds ISO codes, or ``["*"]`` for the rest of the world."""

    __tablename__ = "shipping_zones"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)


class ShippingMethod(IdMixin, TimestampMixin, Base):
    """``flat_rate``: price. ``free_above``: price, free from ``free_above_minor``. ``by_weight``: price plus
    ``per_kg_minor`` for each started kilogram. ``pickup``: collected in store, price usually 0."""

    __tablename__ = "shipping_methods"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("per_kg_minor IS NULL OR per_kg_minor >= 0", name="per_kg_not_negative"),
        CheckConstraint("free_above_minor IS NULL OR free_above_minor >= 0", name="free_above_not_negative"),
    )

    zone_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("shipping_zones.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    price_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    free_above_minor: Mapped[int | None] = mapped_column(BigInteger)
    per_kg_minor: Mapped[int | None] = mapped_column(BigInteger)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Shown to the shopper for pick-up: the store's address and hours.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
