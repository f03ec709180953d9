"""How much stock one shopper may hold without paying. Placing an order reserves its stock, so orders nobody
means to pay or take (cash on delivery, bank transfer) could tie up a product's whole stock. Three rules:

- Deadline: every pending order has one. Unpaid online orders lapse after the payment timeout;
  cash-on-delivery and bank-transfer orders that staff have not confirmed lapse after the (longer) offline
  timeout. The expiry job (``orders.tasks``) cancels a pending order past its deadline, which releases its
  stock; any move of the order (staff confirming it, a captured payment) clears the deadline.
- Cap: pending orders are counted per e-mail, per phone and per client address before anything is reserved;
  past a cap (settings ``open_orders_per_*``, 0 = no cap) checkout answers 409 ``TOO_MANY_OPEN_ORDERS``.
- Rate: guest checkouts are limited per client address and per phone (``guest_checkout_rate_limit``), 429.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.context import AppContext
from emporium.core.errors import Conflict, RateLimited
from emporium.orders.errors import OrderError
from emporium.orders.lifecycle import OFFLINE_METHODS
from emporium.orders.repository import OrderRepository
from emporium.orders.service import phone_digits


class TooManyOpenOrders(Conflict):
    code = OrderError.TOO_MANY_OPEN_ORDERS
    message = (
        "You have too many orders waiting for payment or confirmation. Pay for, or cancel, one of them "
        "before placing another."
    )


# The field each cap names in the refusal, and what it tells the shopper.
_CAPS: dict[str, tuple[str, str]] = {
    "email": ("open_orders_per_email", "Too many orders placed with this e-mail address are still open."),
    "phone": ("open_orders_per_phone", "Too many orders placed with this phone number are still open."),
    "client_address": ("open_orders_per_client_address", "Too many orders placed from here are still open."),
}


def client_address(request: Request) -> str | None:
    """The client's address as the server reports it for this request, as orders store it."""
    return request.client.host[:64] if request.client else None


def deadline(settings: Settings, payment_method: str, now: datetime) -> datetime:
    """When a pending order placed now with ``payment_method`` lapses and gives its stock back."""
    if payment_method in OFFLINE_METHODS:
        return now + timedelta(hours=settings.offline_order_timeout_hours)
    return now + timedelta(minutes=settings.order_payment_timeout_minutes)


async def check_open_orders(
    session: AsyncSession, settings: Settings, contact: dict[str, Any], client_address: str | None
) -> None:
    """Refuse (409) an order whose e-mail, phone or client address already holds its cap of pending orders."""
    caps = {name: int(getattr(settings, setting)) for name, (setting, _) in _CAPS.items()}
    keys = {
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "client_address": client_address,
    }
    counted = await OrderRepository(session).open_orders(
        **{name: value if caps[name] and value else None for name, value in keys.items()}
    )
    over = [name for name, count in counted.items() if count >= caps[name]]
    if over:
        raise TooManyOpenOrders(details=[{"field": name, "message": _CAPS[name][1]} for name in over])


async def limit_guest_checkout(ctx: AppContext, client_address: str | None, phone: str | None) -> None:
    """Count one guest checkout against the client address and the phone, or refuse it with 429."""
    limit = ctx.limiter.parse(ctx.settings.guest_checkout_rate_limit)
    keys = [("checkout.guest.address", client_address or "unknown")]
    if phone_digits(phone):
        keys.append(("checkout.guest.phone", phone_digits(phone)))
    for scope, key in keys:
        try:
            await ctx.limiter.enforce(limit, scope, key)
        except RateLimited as exc:
            raise RateLimited(
                exc.retry_after, "Too many orders were placed from here or with this phone; try again later."
            ) from exc
