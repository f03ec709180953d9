"""Users, their addresses and notification preferences, sign-in sessions and one-time tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    # Stored lower-cased, so the unique index makes e-mails unique case-insensitively.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32), default="customer")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the customer erased their account: the row stays so orders keep their customer id.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Staff two-factor (accounts/two_factor.py): the base32 TOTP secret, set at enrolment and switched on
    # (enabled_at) only once a code made from it was accepted; the last time step accepted, so a code
    # seen once (over a shoulder, in a proxy log) cannot be replayed within its validity.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


# The staff list and the last-super-admin rule read users by role; staff search customers by phone.
Index("ix_users_role", User.role)
Index("ix_users_phone", User.phone)
# Staff search customers by words found anywhere in the e-mail or the names (accounts/customers.py): on
# PostgreSQL trigram indexes serve those contains-matches (migration 0018); SQLite scans.
for _column in (User.email, User.first_name, User.last_name):
    Index(
        f"ix_users_{_column.key}_trgm",
        func.lower(_column).label(f"{_column.key}_lower"),
        postgresql_using="gin",
        postgresql_ops={f"{_column.key}_lower": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")


class Address(IdMixin, TimestampMixin, Base):
    __tablename__ = "addresses"
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str | None] = mapped_column(String(50))
    full_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    line1: Mapped[str] = mapped_column(String(255))
    line2: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


# At most one default address per user, enforced by the database.
Index(
    "uq_addresses_default_per_user",
    Address.user_id,
    unique=True,
    sqlite_where=text("is_default"),
    postgresql_where=text("is_default"),
)


class AuthSession(IdMixin, Base):
    """One signed-in device. Its refresh tokens form a family; revoking it ends its access tokens too."""

    __tablename__ = "auth_sessions"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(50))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ip_address: Mapped[str | None] = mapped_column(String(64))


class RefreshToken(IdMixin, Base):
    """A refresh token, stored as a SHA-256 digest. ``used_at`` set means it was rotated away."""

    __tablename__ = "refresh_tokens"

    session_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OneTimeToken(IdMixin, Base):
    """E-mail verification and password reset tokens: single use, short lived, stored hashed."""

    __tablename__ = "one_time_tokens"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # For verification tokens: the address the token proves, so a changed e-mail voids old links.
    email: Mapped[str | None] = mapped_column(Text)


class RecoveryCode(IdMixin, Base):
    """A staff member's single-use two-factor recovery code, stored as a SHA-256 digest (the codes carry
    80 random bits, so a digest is as good as a slow hash); ``used_at`` set means it was spent."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
