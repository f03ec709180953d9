"""Mail settings: the SMTP server and the sender, read from ``EMPORIUM_*`` variables like every other
setting. The notifications' part of the app's settings (emporium/settings.py)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from emporium.core.config import Settings
from emporium.notifications.vapid import InvalidVapidKey, public_key_for


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


# The push services browsers subscribe through (Chrome and Edge: FCM; Firefox: Mozilla's autopush; Edge
# legacy: WNS; Safari: Apple's). A subscription's endpoint must be on one of them (the host or a subdomain),
# so no customer can make the shop post to an address of their choosing.
PUSH_SERVICE_HOSTS = (
    "fcm.googleapis.com",
    "push.services.mozilla.com",
    "notify.windows.com",
    "push.apple.com",
)


class PushSettings(Settings):
    # Web push (RFC 8030, 8291, 8292). The VAPID key pair is made by `emporium setup` when missing and kept
    # in the .env file beside the other settings; without it the shop offers no push.
    vapid_private_key: SecretStr | None = None
    vapid_public_key: str | None = None
    # Who push services may write to about this shop's messages (a mailto: or https: URL). Unset: a mailto:
    # link to the shop's contact e-mail, else to the admin's.
    vapid_subject: str | None = Field(default=None, max_length=320)
    push_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    push_service_hosts: tuple[str, ...] = PUSH_SERVICE_HOSTS

    @property
    def push_configured(self) -> bool:
        return bool(self.vapid_private_key and self.vapid_private_key.get_secret_value()) and bool(
            self.vapid_public_key
        )

    @property
    def vapid_claim_subject(self) -> str:
        if self.vapid_subject:
            return self.vapid_subject
        return f"mailto:{self.contact_email or self.admin_email}"

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if bool(self.vapid_private_key) != bool(self.vapid_public_key):
            problems.append("EMPORIUM_VAPID_PRIVATE_KEY and EMPORIUM_VAPID_PUBLIC_KEY must be set together")
        elif self.push_configured and not vapid_pair_matches(self):
            problems.append(
                "EMPORIUM_VAPID_PUBLIC_KEY is not the public half of EMPORIUM_VAPID_PRIVATE_KEY "
                "(`emporium setup` makes a pair when both are unset)"
            )
        if self.push_configured and not self.vapid_claim_subject.startswith(("mailto:", "https://")):
            problems.append("EMPORIUM_VAPID_SUBJECT must be a mailto: or https:// URL")
        return problems


def vapid_pair_matches(settings: PushSettings) -> bool:
    assert settings.vapid_private_key is not None
    try:
        return public_key_for(settings.vapid_private_key.get_secret_value()) == settings.vapid_public_key
    except InvalidVapidKey:
        return False


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
