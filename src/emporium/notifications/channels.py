"""The channels this shop can send a customer's notifications by. E-mail always works: through SMTP, or into
the development mailbox without it. Another channel is listed only once a sender for it exists, so no page
offers (or switches on) a channel whose messages would never leave."""

from __future__ import annotations

from emporium.core.config import Settings
from emporium.notifications.config import PushSettings
from emporium.notifications.messaging_config import MessagingSettings

EMAIL = "email"
SMS = "sms"
WHATSAPP = "whatsapp"
PUSH = "push"


def sendable_channels(settings: Settings) -> tuple[str, ...]:
    """The channels a customer may choose, in the order pages list them. Every shop sends e-mail; a sender
    of another channel adds it here when ``settings`` configure it (its development mode counts: production
    refuses to start with one, core/production.py)."""
    channels = [EMAIL]
    if isinstance(settings, MessagingSettings):
        if settings.twilio_configured() or settings.sms_development_mode:
            channels.append(SMS)
        if settings.whatsapp_configured() or settings.whatsapp_development_mode:
            channels.append(WHATSAPP)
    # Web push needs the shop's VAPID key pair: browsers subscribe with its public half.
    if isinstance(settings, PushSettings) and settings.push_configured:
        channels.append(PUSH)
    return tuple(channels)
