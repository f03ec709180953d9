"""The journeys' own records: reminders sent for abandoned carts, the e-mail a guest gave at checkout,
back-in-stock alerts, and what was last seen of each stock pool (to tell an edge from a level)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from emporium.cart.models import Cart
from emporium.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow


class CartReminder(IdMixin, Base):
    """A reminder sent for a cart: reminder 1 after an hour, 2 after a day; each at most once per cart."""

    __tablename__ = "cart_reminders"
    __table_args__ = (UniqueConstraint("cart_id", "reminder", name="uq_cart_reminders_cart_reminder"),)

    cart_id: Mapped[int] = mapped_column(BigId, ForeignKey("carts.id", ondelete="CASCADE"))
    reminder: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CartContact(Base):
    """The e-mail a guest typed at checkout, kept with the guest's cart (and gone with it)."""

    __tablename__ = "cart_contacts"

    cart_id: Mapped[int] = mapped_column(BigId, ForeignKey("carts.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The scan for abandoned carts reads carts by their last change, a range at a time.
Index("ix_carts_updated_at", Cart.updated_at)


class StockAlert(IdMixin, Base):
    """ "Tell me when it is back": a customer's (active at once) or a guest's e-mail (active once confirmed
    by the link sent to it). ``notified_at`` is set when the alert went out: each alert is sent once."""

    __tablename__ = "stock_alerts"
    __table_args__ = (
        UniqueConstraint("variant_id", "user_id", name="uq_stock_alerts_variant_user"),
        UniqueConstraint("variant_id", "email", name="uq_stock_alerts_variant_email"),
        # The batch sent on an edge: the variant's confirmed, unsent alerts in the order they came.
        Index("ix_stock_alerts_variant_pending", "variant_id", "notified_at", "confirmed_at", "id"),
    )

    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("product_variants.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str | None] = mapped_column(String(16))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PoolWatch(Base):
    """What was last seen of a pool: its free stock (a variant came back when it could sell none before and
    can now), and whether a fall to the low-stock threshold would tell staff (disarmed once told, armed
    again once the pool is above its threshold)."""

    __tablename__ = "pool_watch"

    pool_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("stock_pools.id", ondelete="CASCADE"), primary_key=True
    )
    last_free: Mapped[int] = mapped_column(BigInteger)
    low_armed: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
