"""Mail settings: the SMTP server and the sender, read from ``EMPORIUM_*`` variables like every other
setting. The notifications' part of the app's settings (emporium/settings.py)."""

from __future__ import annotations

from pydantic import SecretStr

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
