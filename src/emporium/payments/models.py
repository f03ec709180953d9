"""Payments: attempts to pay an order through a gateway, the append-only ledger of money movements, and
the webhook events received from gateways (stored once per event id)."""

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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow


class PaymentState(StrEnum):
    REQUIRES_ACTION = "requires_action"  # waiting for the shopper (card form, 3-D Secure, a transfer)
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class TxKind(StrEnum):
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    REFUND = "refund"
    VOID = "void"


class TxStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# Refunds that gave money back (their partial index dates them).
REFUNDED = "kind = 'refund' AND status = 'succeeded'"


class Payment(IdMixin, TimestampMixin, Base):
    """One attempt to pay an order with one gateway (a Stripe PaymentIntent, a test-gateway session...)."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("gateway", "reference", name="uq_payments_gateway_reference"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="RESTRICT"), index=True)
    gateway: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(24), default=PaymentState.REQUIRES_ACTION)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # Handed to the shopper's browser to finish the payment (Stripe's client secret, the test page's key).
    client_secret: Mapped[str | None] = mapped_column(String(200), unique=True)
    # What may be shown of a card: never its number, expiry or CVC.
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    error: Mapped[str | None] = mapped_column(String(500))
    # What the shopper and staff are shown of this attempt, as the gateway put it: the next action (a page
    # to visit), a crypto address and amount, a Lightning invoice, an under- or overpayment. Never a secret.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # When what the gateway handed out (a crypto quote, a Lightning invoice) stops being payable.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PaymentTransaction(IdMixin, Base):
    """The ledger: every authorisation, capture, refund and void, never updated once settled."""

    __tablename__ = "payment_transactions"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        UniqueConstraint("order_id", "idempotency_key", name="uq_payment_transactions_order_key"),
        # Refunds by when they were made, for the back office's figures (migration 0017).
        Index(
            "ix_payment_transactions_refunded_at",
            "created_at",
            postgresql_where=text(REFUNDED),
            sqlite_where=text(REFUNDED),
        ),
    )

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="RESTRICT"), index=True)
    payment_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("payments.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    gateway: Mapped[str] = mapped_column(String(32))
    gateway_reference: Mapped[str | None] = mapped_column(String(200))
    raw_response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(500))
    # A retried refund or capture with the same key is the same transaction.
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEvent(IdMixin, Base):
    """A verified event from a gateway, stored once per (gateway, event id): repeats change nothing."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("gateway", "event_id", name="uq_webhook_events_gateway_event"),)

    gateway: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TestGatewaySession(Base):
    """The provider side of the built-in test gateway: what the simulated card processor knows of each
    payment. Kept apart from ``payments`` so the flow mirrors a real provider (the shop learns the outcome
    from a signed webhook, or by asking)."""

    __tablename__ = "test_gateway_sessions"
    __test__ = False  # not a pytest test class, whatever its name

    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_secret: Mapped[str] = mapped_column(String(100), unique=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    order_number: Mapped[str] = mapped_column(String(32))
    return_url: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(24), default=PaymentState.REQUIRES_ACTION)
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RefundLine(IdMixin, Base):
    """What a refund by line paid back: units of one order line, or (no line) part of the shipping. The
    amounts of one refund's rows add up to its ledger transaction, so what is left to refund of each line
    is its sold quantity less these rows."""

    __tablename__ = "refund_lines"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    transaction_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("payment_transactions.id", ondelete="RESTRICT"), index=True
    )
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="RESTRICT"), index=True)
    # NULL: the row refunds shipping, not goods.
    order_line_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("order_lines.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
