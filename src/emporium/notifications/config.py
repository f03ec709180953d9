"""Mail settings: the SMTP server and the sender, read from ``EMPORIUM_*`` variables like every other
setting. The notifications' part of the app's settings (emporium/settings.py)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from emporium.core.config import Settings


class MailSettings(Settings):
    # E-mail. Without an SMTP host, mail goes to the development mailbox the admin can read.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "Emporium <no-reply@emporium.localhost>"


class NotificationSettings(Settings):
    # Quiet hours of SMS, WhatsApp and push ("21:00-08:00", in the recipient's time zone; empty: none): a
    # message due inside them waits until they end. A customer may set their own; e-mail and in-app ignore
    # them, and account-security messages go at once.
    notifications_quiet_hours: str = Field(default="21:00-08:00", pattern=r"^(|\d{2}:\d{2}-\d{2}:\d{2})$")
    # At most this many non-transactional messages a day per recipient and channel (shared through Redis
    # when EMPORIUM_REDIS_URL is set, else counted in the database); a channel not named has no limit.
    notifications_daily_budget: dict[str, int] = {"sms": 3, "whatsapp": 3, "push": 5}
    # Channels whose development provider keeps messages in the development mailbox while no real provider
    # is configured (never in production).
    notifications_development_channels: list[str] = ["sms", "whatsapp", "push"]
    # A guest who gave a phone number and no e-mail address gets order messages by the first of these the
    # shop can send.
    notifications_guest_phone_channels: list[str] = ["sms", "whatsapp"]
    # Sending attempts of one delivery before it ends ``failed``, and the first wait between them (doubling).
    notifications_max_attempts: int = Field(default=5, ge=1, le=20)
    notifications_retry_base_seconds: float = Field(default=30.0, ge=0)
    # The Redis keys of the daily budgets begin with this.
    notifications_budget_prefix: str = "emporium:notify:budget:"
    # A provider that has not answered after this long counts as down for this attempt.
    notifications_send_timeout_seconds: float = Field(default=30.0, gt=0)
