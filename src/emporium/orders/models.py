"""Orders, their lines (captured as they were sold) and their timeline of events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class PaymentStatus(StrEnum):
    AWAITING = "awaiting"
    PENDING_VERIFICATION = "pending_verification"
    AUTHORIZED = "authorized"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"


class StockState(StrEnum):
    """What the order holds of its pools: a reservation, a deduction, or nothing any more."""

    RESERVED = "reserved"
    DEDUCTED = "deducted"
    RELEASED = "released"
    RESTOCKED = "restocked"


_MONEY_COLUMNS = ("subtotal_minor", "discount_minor", "shipping_minor", "tax_minor", "total_minor")
# The orders that sold (emporium.analytics): invoiced, not cancelled. Partial indexes date them, and find a
# buyer's first sale (an account's, or a guest e-mail's) without reading the orders themselves.
SOLD = "invoice_number IS NOT NULL AND status <> 'cancelled'"
SOLD_TO_GUEST = f"user_id IS NULL AND {SOLD}"


class Order(IdMixin, TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        *(CheckConstraint(f"{c} >= 0", name=f"{c}_not_negative") for c in _MONEY_COLUMNS),
        Index("ix_orders_user_id_created_at", "user_id", "created_at"),
        Index("ix_orders_status_expires_at", "status", "expires_at"),
        # The back office's order table pages through these sorts by keyset (newest, oldest, by total).
        Index("ix_orders_created_at_id", "created_at", "id"),
        Index("ix_orders_total_minor_id", "total_minor", "id"),
        # The back office's figures: sold orders by when they were placed, and each buyer's first sale
        # (migration 0017).
        Index(
            "ix_orders_sold_created_at", "created_at", postgresql_where=text(SOLD), sqlite_where=text(SOLD)
        ),
        Index(
            "ix_orders_sold_user_id",
            "user_id",
            "created_at",
            postgresql_where=text(SOLD),
            sqlite_where=text(SOLD),
        ),
        Index(
            "ix_orders_sold_guest_email",
            "contact_email",
            "created_at",
            postgresql_where=text(SOLD_TO_GUEST),
            sqlite_where=text(SOLD_TO_GUEST),
        ),
    )

    # From a database sequence: ORD-2026-000123.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    # NULL for a guest order; erased customers keep their id (the user row stays, anonymised).
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320), index=True)
    contact_phone: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(24), default=OrderStatus.PENDING, index=True)
    payment_status: Mapped[str] = mapped_column(String(24), default=PaymentStatus.AWAITING, index=True)
    payment_method: Mapped[str] = mapped_column(String(32))
    stock_state: Mapped[str] = mapped_column(String(16), default=StockState.RESERVED)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    prices_include_tax: Mapped[bool] = mapped_column(default=False)
    coupon_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("coupons.id", ondelete="SET NULL"))
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    shipping_method_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("shipping_methods.id", ondelete="SET NULL")
    )
    shipping_method_name: Mapped[str] = mapped_column(String(100))
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSON)
    billing_address: Mapped[dict[str, Any]] = mapped_column(JSON)
    customer_note: Mapped[str | None] = mapped_column(String(1000))
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    # Pending orders are cancelled by a job once this passes: unpaid online orders after the payment timeout,
    # cash-on-delivery and bank-transfer orders staff have not confirmed after the offline timeout.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The client address the order was placed from: open unconfirmed orders are capped per address.
    client_address: Mapped[str | None] = mapped_column(String(64), index=True)
    # Issued when the order is confirmed or paid, from the gap-free invoice counter (orders/invoicing.py);
    # NULL while an online order waits for its payment, and for orders cancelled before that.
    invoice_number: Mapped[str | None] = mapped_column(String(32), index=True, unique=True)
    invoiced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The number's last seven characters ("-000123"): staff type the digits at its end, and equality on this
# expression is what its index answers (an ends-with LIKE is answered by none).
order_number_tail = func.substr(Order.number, func.length(Order.number) - literal_column("6"))
# The order table's search box on PostgreSQL (migration 0018): words anywhere in the name or the address
# through trigram indexes, digits at the number's end through the tail's. SQLite scans for these.
Index(
    "ix_orders_contact_name_trgm",
    func.lower(Order.contact_name).label("contact_name_lower"),
    postgresql_using="gin",
    postgresql_ops={"contact_name_lower": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")
Index(
    "ix_orders_contact_email_trgm",
    func.lower(Order.contact_email).label("contact_email_lower"),
    postgresql_using="gin",
    postgresql_ops={"contact_email_lower": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")
Index("ix_orders_number_tail", order_number_tail).ddl_if(dialect="postgresql")


class OrderLine(IdMixin, Base):
    """A line as it was sold: name, SKU, options and prices are copies, not references."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price_not_negative"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # RESTRICT: a product that has been sold is archived, never deleted (catalog delete_product).
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    variant_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("product_variants.id", ondelete="RESTRICT"), index=True
    )
    pool_id: Mapped[int] = mapped_column(BigId, ForeignKey("stock_pools.id", ondelete="RESTRICT"))
    product_name: Mapped[str] = mapped_column(String(200))
    variant_name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quantity: Mapped[int] = mapped_column(Integer)
    # Stock drawn from the pool: quantity * draw_per_unit at the time of the sale.
    stock_draw: Mapped[int] = mapped_column(BigInteger)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    # The tax rate applied to the line (parts per million), so the invoice can state tax per rate; NULL
    # on lines sold before it was recorded.
    tax_rate_ppm: Mapped[int | None] = mapped_column(Integer)


class InvoiceCounter(Base):
    """The last invoice number handed out in a series (one series per year). Numbers are taken by
    updating this row inside the confirming transaction, so a rolled-back confirmation gives its number
    back and the series has no gaps (a database SEQUENCE would keep the gap)."""

    __tablename__ = "invoice_counters"

    series: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)


class OrderEvent(IdMixin, Base):
    """The order's timeline: every status change, note, payment and stock movement, never updated."""

    __tablename__ = "order_events"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavedOrderFilter(IdMixin, Base):
    """A staff member's named search of the order table (the query string as the table's URL holds it).
    Private to its owner: listed, used and deleted by them alone."""

    __tablename__ = "saved_order_filters"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_order_filters_user_name"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
