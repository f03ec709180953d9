"""Every event the shop tells people about: its category, whether it is transactional, the channels it may
use, its e-mail template and the page it opens.

``channels`` lists what the event may use besides the in-app row (always written); a channel is used only
when the event's templates have its part (templates/notifications/<event>.j2 blocks ``sms``, ``whatsapp``,
``title``/``body`` for push) and the shop can send it (channels.py). ``security``: an account-security
message, sent by e-mail at once (not switchable, not held by quiet hours, never budgeted).
"""

from __future__ import annotations

from dataclasses import dataclass

EMAIL, SMS, WHATSAPP, PUSH, IN_APP = "email", "sms", "whatsapp", "push", "in_app"
# The order a transactional message falls back in when a channel fails for good.
FALLBACK_ORDER = (EMAIL, SMS, WHATSAPP, PUSH)
PHONE_CHANNELS = (SMS, WHATSAPP)
ALL = (EMAIL, SMS, WHATSAPP, PUSH)


@dataclass(frozen=True)
class EventSpec:
    name: str
    category: str
    transactional: bool
    channels: tuple[str, ...]
    email_template: str | None = None
    security: bool = False
    # The page it opens, relative to the shop's public URL, formatted with the context (``notify``'s
    # ``link`` wins when given).
    link: str | None = None


def _account(name: str, template: str, *, security: bool = True, link: str | None = None) -> EventSpec:
    return EventSpec(name, "account", True, (EMAIL,), template, security=security, link=link)


def _order(name: str, template: str, channels: tuple[str, ...] = ALL) -> EventSpec:
    return EventSpec(name, "orders", True, channels, template, link="/account/orders/{order_id}")


_STAFF_ORDER = "/admin/orders/{order_id}"

EVENTS: dict[str, EventSpec] = {
    spec.name: spec
    for spec in (
        _account("account.welcome", "welcome", security=False, link="/account"),
        _account("account.verify_email", "verify_email"),
        _account("account.password_reset", "reset_password"),
        _account("account.password_changed", "password_changed"),
        _account("account.exists", "account_exists"),
        _account("account.staff_invitation", "staff_invitation"),
        _order("order.placed", "order_confirmation"),
        _order("order.status_changed", "order_status", (EMAIL, PUSH)),
        _order("payment.received", "payment_received"),
        _order("payment.failed", "payment_failed"),
        _order("order.shipped", "order_status"),
        _order("order.delivered", "order_status"),
        _order("order.cancelled", "order_status"),
        _order("order.refunded", "order_status"),
        EventSpec(
            "staff.order_placed", "staff", True, (EMAIL, PUSH), "staff_order_placed", link=_STAFF_ORDER
        ),
        EventSpec(
            "staff.payment_awaiting",
            "staff",
            True,
            (EMAIL, PUSH),
            "staff_payment_awaiting",
            link=_STAFF_ORDER,
        ),
        EventSpec("review.request", "review_request", False, (EMAIL,), "review_request"),
        EventSpec(
            "staff.low_stock",
            "staff",
            True,
            (EMAIL, PUSH),
            "staff_low_stock",
            link="/admin/inventory/{pool_id}",
        ),
        # The journeys (journeys/): their links come with the notification (``notify``'s ``link``).
        EventSpec("cart.abandoned", "abandoned_cart", False, (EMAIL, PUSH), "cart_abandoned"),
        EventSpec("stock.alert_confirm", "back_in_stock", True, (EMAIL,), "stock_alert_confirm"),
        EventSpec("stock.back_in_stock", "back_in_stock", False, (EMAIL, SMS, PUSH), "stock_back_in_stock"),
    )
}


def event_spec(name: str) -> EventSpec:
    spec = EVENTS.get(name)
    if spec is None:
        raise LookupError(f"no notification event is registered as {name!r}")
    return spec
