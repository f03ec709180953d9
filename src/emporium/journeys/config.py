"""Settings of the journeys: abandoned-cart reminders, back-in-stock alerts and the staff's low-stock notice.
Their part of the app's settings (emporium/settings.py)."""

from __future__ import annotations

from pydantic import Field

from emporium.core.config import Settings


class JourneySettings(Settings):
    # Abandoned carts: a first reminder this long after the cart's last change, a second one later. A cart
    # idle for longer than ``abandoned_cart_max_age_hours`` is left alone (the shopper has moved on).
    abandoned_cart_enabled: bool = True
    abandoned_cart_first_hours: int = Field(default=1, ge=1, le=24 * 30)
    abandoned_cart_second_hours: int = Field(default=24, ge=1, le=24 * 60)
    abandoned_cart_max_age_hours: int = Field(default=72, ge=1, le=24 * 90)
    # How long the link in a reminder restores the cart.
    abandoned_cart_link_ttl_hours: int = Field(default=7 * 24, ge=1, le=24 * 90)
    # Carts looked at per statement of the periodic scan.
    abandoned_cart_batch: int = Field(default=200, ge=1, le=10_000)
    # Back in stock: on an edge, alerts sent per unit that came back (so a few units do not call hundreds).
    back_in_stock_per_unit: int = Field(default=3, ge=1, le=1000)
    # How long a guest's confirmation link works, and an unsubscribe link in any journey's e-mail.
    back_in_stock_confirm_ttl_hours: int = Field(default=72, ge=1, le=24 * 30)
    back_in_stock_unsubscribe_ttl_days: int = Field(default=365, ge=1, le=3650)
