"""SMS (Twilio) and WhatsApp (Meta's Cloud API) settings, read from the same ``EMPORIUM_*`` variables as every
other setting. The messaging part of the app's settings (emporium/settings.py)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from emporium.core.config import Settings
from emporium.core.production import MAKE_A_SECRET, weak_secret

WEEK_SECONDS = 7 * 24 * 3600


class TwilioSettings(Settings):
    # SMS through Twilio's official SDK: a messaging service (preferred: Twilio picks the sender and handles
    # STOP itself) or a sender number. The auth token also signs Twilio's webhooks (X-Twilio-Signature).
    twilio_account_sid: str | None = Field(default=None, pattern=r"^AC[0-9a-fA-F]{32}$")
    twilio_auth_token: SecretStr | None = None
    twilio_messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    twilio_from_number: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")
    # Another API host (a regional edge, or a local fake in tests): scheme and host replace api.twilio.com.
    twilio_api_base_url: str | None = None
    twilio_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    # A status callback older than this is refused: Twilio stops retrying long before, so an older one is a
    # replay (its send time is in the signed callback URL).
    twilio_callback_max_age_seconds: int = Field(default=WEEK_SECONDS, ge=60)
    # The answer to HELP; default: the shop's name and the STOP/START keywords.
    sms_help_text: str | None = Field(default=None, max_length=320)

    def twilio_configured(self) -> bool:
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token
            and (self.twilio_messaging_service_sid or self.twilio_from_number)
        )

    def help_text(self) -> str:
        return self.sms_help_text or (
            f"{self.shop_name}: order updates by text. Reply STOP to stop them, START to resume. "
            "Msg&data rates may apply."
        )


class WhatsAppSettings(Settings):
    # WhatsApp through Meta's Cloud API: the business phone number's id and a system user's access token.
    whatsapp_phone_number_id: str | None = Field(default=None, pattern=r"^[0-9]{1,30}$")
    whatsapp_access_token: SecretStr | None = None
    # Signs the webhook's POSTs (X-Hub-Signature-256); the verify token answers its GET subscription check.
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_graph_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    # Meta retries a webhook for up to seven days; an event older than this is a replay.
    whatsapp_callback_max_age_seconds: int = Field(default=WEEK_SECONDS + 3600, ge=60)

    def whatsapp_configured(self) -> bool:
        return bool(self.whatsapp_phone_number_id and self.whatsapp_access_token)


class MessagingSettings(TwilioSettings, WhatsAppSettings):
    """SMS and WhatsApp, and what production asks of them."""

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if self.whatsapp_configured() and not (self.whatsapp_app_secret and self.whatsapp_verify_token):
            problems.append(
                "EMPORIUM_WHATSAPP_APP_SECRET and EMPORIUM_WHATSAPP_VERIFY_TOKEN are needed with WhatsApp: "
                "without them its webhooks cannot be verified"
            )
        elif self.whatsapp_verify_token and weak_secret(self.whatsapp_verify_token.get_secret_value()):
            problems.append(f"EMPORIUM_WHATSAPP_VERIFY_TOKEN is too easy to guess ({MAKE_A_SECRET})")
        return problems
