"""The development mailbox (where e-mail goes when no SMTP server is configured), the notifications told to
each recipient, their deliveries by channel, and what the shop knows of each phone number's consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow


class DevMailMessage(IdMixin, Base):
    __tablename__ = "dev_mailbox"

    to_address: Mapped[str] = mapped_column(String(320), index=True)
    from_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(100))
    job_id: Mapped[int | None] = mapped_column()
    # ``email``, or the channel whose development provider kept the message (``sms``, ``whatsapp``, ``push``).
    channel: Mapped[str] = mapped_column(String(20), default="email", server_default="email")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# What a delivery can be. ``deferred``: held for the recipient's quiet hours, a budget or a retry, due at
# ``due_at``; ``suppressed``: planned but not sent (opted out, no contact point), kept so the fallback and
# staff can see why; ``delivered``/``read``/``undelivered``: what the provider reported afterwards.
DELIVERY_STATUSES = (
    "pending",
    "deferred",
    "sent",
    "delivered",
    "read",
    "failed",
    "undelivered",
    "suppressed",
)


class Notification(IdMixin, Base):
    """One event told to one recipient: the in-app inbox row, written for every recipient of every event.

    ``event_key`` names the occurrence (``order.shipped:1042``) and ``recipient_key`` the person
    (``user:12``, ``email:a@example.com``, ``phone:+919812345678``): the pair is unique, so planning the
    same event twice writes nothing new."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_key", "recipient_key", name="uq_notifications_event_recipient"),
        Index("ix_notifications_user_id_id", "user_id", "id"),
    )

    event: Mapped[str] = mapped_column(String(60))
    event_key: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(30))
    recipient_key: Mapped[str] = mapped_column(String(340))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(IdMixin, Base):
    """One notification sent by one channel. ``idempotency_key`` (event, recipient, channel) is unique, so
    no plan, retry or crash can make two deliveries of one message on one channel; the provider is given
    the same key and message id on every attempt."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_notification_deliveries_idempotency_key"),
        Index("ix_notification_deliveries_provider_message", "channel", "provider_message_id"),
        Index("ix_notification_deliveries_status_due", "status", "due_at"),
    )

    notification_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(400))
    # The e-mail address, the E.164 phone number, or the push subscription's id.
    address: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    provider: Mapped[str | None] = mapped_column(String(30))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Set on a delivery made because an earlier channel failed for good.
    fallback_from_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("notification_deliveries.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ContactPoint(IdMixin, Base):
    """What the shop knows of a phone number on a messaging channel (``sms``, ``whatsapp``): whether its owner
    opted out (STOP by text, or from their account) and when they last wrote to us (WhatsApp allows free text
    only within 24 hours of that; outside it, only an approved template)."""

    __tablename__ = "contact_points"
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_contact_points_channel_address"),)

    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(320))
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opt_out_source: Mapped[str | None] = mapped_column(String(40))
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ProviderCallback(IdMixin, Base):
    """A verified callback from a messaging provider, stored once per (provider, callback id): a repeat is
    acknowledged and changes nothing, as with the payment webhooks."""

    __tablename__ = "notification_callbacks"
    __table_args__ = (
        UniqueConstraint("provider", "callback_id", name="uq_notification_callbacks_provider_id"),
    )

    provider: Mapped[str] = mapped_column(String(30))
    callback_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PushSubscription(IdMixin, Base):
    """A browser that allowed this shop's web push (RFC 8030): where to send (``endpoint``) and the keys
    to encrypt for it (RFC 8291). An endpoint the push service answers 404 or 410 for is deleted."""

    __tablename__ = "push_subscriptions"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationChoice(IdMixin, Base):
    """A recipient's choice for one category on one channel (``orders`` by ``sms``: on). No row means the
    category's default (notifications/preferences.py). ``recipient_key`` is ``user:12`` for a customer and
    ``email:a@example.com`` for a guest who unsubscribed from a link; a consent (marketing) keeps when and
    where it was given."""

    __tablename__ = "notification_choices"
    __table_args__ = (
        UniqueConstraint("recipient_key", "category", "channel", name="uq_notification_choices_key"),
    )

    recipient_key: Mapped[str] = mapped_column(String(340))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_source: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class NotificationSchedule(Base):
    """A customer's own quiet hours (``22:00-07:30``; empty: none) and time zone; None: the shop's."""

    __tablename__ = "notification_schedules"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    quiet_hours: Mapped[str | None] = mapped_column(String(11))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class NotificationBudget(Base):
    """How many non-transactional messages one recipient was sent on one channel on one (UTC) day, when no
    Redis shares the count: taken with one conditional UPDATE, so concurrent planners never exceed it."""

    __tablename__ = "notification_budgets"

    recipient_key: Mapped[str] = mapped_column(String(340), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)
