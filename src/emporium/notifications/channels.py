"""The channels this shop can send a customer's notifications by. E-mail always works: through SMTP, or into
the development mailbox without it. Another channel is listed only once a sender for it exists (a real
provider, or the development mailbox outside production), so no page offers (or switches on) a channel whose
messages would never leave."""

from __future__ import annotations

from emporium.core.config import Settings
from emporium.notifications.events import EMAIL, FALLBACK_ORDER
from emporium.notifications.providers.registry import can_send

__all__ = ["EMAIL", "sendable_channels"]


def sendable_channels(settings: Settings) -> tuple[str, ...]:
    """The channels a customer may choose, in the order pages list them."""
    return tuple(channel for channel in FALLBACK_ORDER if channel == EMAIL or can_send(settings, channel))
