"""Which provider sends each channel, chosen by the settings.

A real provider registers a factory here (``register_provider("sms", twilio_factory)``, from its domain's
install); the first factory that answers a provider wins. Without one, e-mail goes by SMTP when
``EMPORIUM_SMTP_HOST`` is set, and every channel named in ``EMPORIUM_NOTIFICATIONS_DEVELOPMENT_CHANNELS``
(e-mail always) goes to the development mailbox, except in production, where a channel without a real
provider is not offered at all.
"""

from __future__ import annotations

from collections.abc import Callable

from emporium.core.config import Settings
from emporium.core.db import Database
from emporium.notifications.config import MailSettings, NotificationSettings
from emporium.notifications.events import EMAIL
from emporium.notifications.providers.base import Provider
from emporium.notifications.providers.development import DevelopmentProvider
from emporium.notifications.providers.email import SmtpEmailProvider

ProviderFactory = Callable[[Settings], Provider | None]

FACTORIES: dict[str, list[ProviderFactory]] = {}


def register_provider(channel: str, factory: ProviderFactory) -> None:
    """Add a real provider of ``channel``; registering the same factory again changes nothing."""
    factories = FACTORIES.setdefault(channel, [])
    if factory not in factories:
        factories.append(factory)


def _smtp(settings: Settings) -> Provider | None:
    mail = settings.part(MailSettings)
    return SmtpEmailProvider(mail) if mail.smtp_host else None


def _development_allowed(settings: Settings, channel: str) -> bool:
    if settings.env == "production":
        return channel == EMAIL
    return (
        channel == EMAIL or channel in settings.part(NotificationSettings).notifications_development_channels
    )


def provider_for(settings: Settings, db: Database, channel: str) -> Provider | None:
    """The provider that sends ``channel`` now; None when the shop cannot send it."""
    factories: list[ProviderFactory] = [*FACTORIES.get(channel, ())]
    if channel == EMAIL:
        factories.append(_smtp)
    for factory in factories:
        provider = factory(settings)
        if provider is not None:
            return provider
    if _development_allowed(settings, channel):
        return DevelopmentProvider(db, channel, settings.part(MailSettings).mail_from)
    return None


def can_send(settings: Settings, channel: str) -> bool:
    """Whether ``channel`` has a provider, without building one (what pages and planning offer)."""
    if any(factory(settings) is not None for factory in FACTORIES.get(channel, ())):
        return True
    return _development_allowed(settings, channel)
