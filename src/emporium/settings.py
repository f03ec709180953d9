"""The app's settings: the common settings (core/config.py) and each domain's part, as one class read from
the environment (prefix ``EMPORIUM_``) and an optional ``.env`` file. Every variable keeps its flat name
(EMPORIUM_STRIPE_SECRET_KEY, EMPORIUM_SMTP_HOST); where a setting is declared does not show in it.

Built here, above the domains, because core imports no domain: core code is typed against core's
``Settings``, and a domain reaches its part with ``settings.part(PaymentSettings)``."""

from __future__ import annotations

from functools import lru_cache

from emporium.catalog.media.config import MediaSettings
from emporium.journeys.config import JourneySettings
from emporium.notifications.config import MailSettings, NotificationSettings, PushSettings
from emporium.notifications.messaging_config import MessagingSettings
from emporium.payments.config import PaymentSettings
from emporium.reviews.config import ReviewSettings


class AppSettings(
    PaymentSettings,
    MediaSettings,
    MailSettings,
    NotificationSettings,
    MessagingSettings,
    ReviewSettings,
    PushSettings,
    JourneySettings,
):
    """Every setting of the shop."""


@lru_cache
def get_settings() -> AppSettings:
    return AppSettings()
