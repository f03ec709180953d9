"""notifications, their deliveries, contact points and provider callbacks

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-13 09:00:00.000000

One notification per event and recipient (the in-app inbox row), one delivery per channel with a unique
idempotency key, what the shop knows of each phone number's consent and WhatsApp window, the provider
callbacks already seen, the browsers subscribed to web push; each recipient's choices per category and
channel (the old channel booleans of notification_preferences carried over), quiet hours and daily budgets;
the channel of a message kept in the development mailbox. The channel booleans of notification_preferences
become choices and their table goes.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import emporium.core.db

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_points",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("opted_out_at", emporium.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opt_out_source", sa.String(length=40), nullable=True),
        sa.Column("last_inbound_at", emporium.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_points")),
        sa.UniqueConstraint("channel", "address", name="uq_contact_points_channel_address"),
    )
    op.create_table(
        "notification_callbacks",
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("callback_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("received_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_callbacks")),
        sa.UniqueConstraint("provider", "callback_id", name="uq_notification_callbacks_provider_id"),
    )
    op.create_table(
        "notifications",
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("recipient_key", sa.String(length=340), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("read_at", emporium.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("event_key", "recipient_key", name="uq_notifications_event_recipient"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_user_id_id", ["user_id", "id"], unique=False)

    op.create_table(
        "notification_deliveries",
        sa.Column("notification_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=False),
        sa.Column("address", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("due_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=True),
        sa.Column("provider_message_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("fallback_from_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", emporium.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["fallback_from_id"],
            ["notification_deliveries.id"],
            name=op.f("fk_notification_deliveries_fallback_from_id_notification_deliveries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_deliveries_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("idempotency_key", name="uq_notification_deliveries_idempotency_key"),
    )
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_deliveries_notification_id"), ["notification_id"], unique=False
        )
        batch_op.create_index(
            "ix_notification_deliveries_provider_message", ["channel", "provider_message_id"], unique=False
        )
        batch_op.create_index("ix_notification_deliveries_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "push_subscriptions",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("endpoint", sa.String(length=1000), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", emporium.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_push_subscriptions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_subscriptions_user_id"), ["user_id"], unique=False)

    _choices_tables()
    _carry_over_preferences()
    # The choices replace the channel booleans.
    op.drop_table("notification_preferences")


def _choices_tables() -> None:
    op.create_table(
        "notification_choices",
        sa.Column("recipient_key", sa.String(length=340), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("consent_at", emporium.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("consent_source", sa.String(length=40), nullable=True),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_choices_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_choices")),
        sa.UniqueConstraint("recipient_key", "category", "channel", name="uq_notification_choices_key"),
    )
    with op.batch_alter_table("notification_choices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_choices_user_id"), ["user_id"], unique=False)
    op.create_table(
        "notification_schedules",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quiet_hours", sa.String(length=11), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_schedules_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_schedules")),
    )
    op.create_table(
        "notification_budgets",
        sa.Column("recipient_key", sa.String(length=340), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("recipient_key", "channel", "day", name=op.f("pk_notification_budgets")),
    )
    with op.batch_alter_table("dev_mailbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=20), server_default="email", nullable=False)
        )


# The old booleans, as choices: e-mail off stops every category but account security; a channel turned on
# carries order updates; promotional consent (with e-mail on) becomes marketing and review requests by e-mail,
# consented when the preferences were last saved, from the account page.
_OLD = sa.table(
    "notification_preferences",
    *(sa.column(name, sa.Boolean()) for name in ("email", "sms", "push", "whatsapp", "promotional")),
    sa.column("user_id", sa.BigInteger()),
    sa.column("updated_at", emporium.core.db.UTCDateTime(timezone=True)),
)
_CHOICES = sa.table(
    "notification_choices",
    sa.column("recipient_key", sa.String()),
    sa.column("user_id", sa.BigInteger()),
    sa.column("category", sa.String()),
    sa.column("channel", sa.String()),
    sa.column("enabled", sa.Boolean()),
    sa.column("consent_at", emporium.core.db.UTCDateTime(timezone=True)),
    sa.column("consent_source", sa.String()),
    sa.column("updated_at", emporium.core.db.UTCDateTime(timezone=True)),
)
_SWITCHABLE_BY_EMAIL = ("orders", "back_in_stock", "abandoned_cart", "review_request")


def _choices_of(row: sa.Row[Any]) -> list[dict[str, Any]]:
    def choice(category: str, channel: str, enabled: bool, consented: bool = False) -> dict[str, Any]:
        return {
            "recipient_key": f"user:{row.user_id}",
            "user_id": row.user_id,
            "category": category,
            "channel": channel,
            "enabled": enabled,
            "consent_at": row.updated_at if consented else None,
            "consent_source": "account" if consented else None,
            "updated_at": row.updated_at,
        }

    if not row.email:
        choices = [choice(category, "email", False) for category in _SWITCHABLE_BY_EMAIL]
    elif row.promotional:
        choices = [choice(category, "email", True, True) for category in ("marketing", "review_request")]
    else:
        choices = []
    return choices + [
        choice("orders", channel, True) for channel in ("sms", "push", "whatsapp") if row._mapping[channel]
    ]


def _carry_over_preferences() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_OLD)).all()
    choices = [choice for row in rows for choice in _choices_of(row)]
    if choices:
        bind.execute(_CHOICES.insert(), choices)


def downgrade() -> None:
    # The choices do not fit the old booleans: every customer is back at the old defaults.
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("sms", sa.Boolean(), nullable=False),
        sa.Column("push", sa.Boolean(), nullable=False),
        sa.Column("whatsapp", sa.Boolean(), nullable=False),
        sa.Column("promotional", sa.Boolean(), nullable=False),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preferences")),
    )
    with op.batch_alter_table("dev_mailbox", schema=None) as batch_op:
        batch_op.drop_column("channel")
    op.drop_table("notification_budgets")
    op.drop_table("notification_schedules")
    with op.batch_alter_table("notification_choices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_choices_user_id"))
    op.drop_table("notification_choices")
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscriptions_user_id"))

    op.drop_table("push_subscriptions")
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_deliveries_status_due")
        batch_op.drop_index("ix_notification_deliveries_provider_message")
        batch_op.drop_index(batch_op.f("ix_notification_deliveries_notification_id"))

    op.drop_table("notification_deliveries")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_id_id")

    op.drop_table("notifications")
    op.drop_table("notification_callbacks")
    op.drop_table("contact_points")
