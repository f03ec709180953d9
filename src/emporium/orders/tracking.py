"""Guest order tracking under its two limits: attempts per client address, and wrong guesses per order.

The per-address limit alone does not protect one order: whoever rotates addresses may try phone after phone
on the same number. So every attempt on an order number is also counted for that number, from any address,
and past ``order_track_order_limit`` the order cannot be tracked at all until the window has passed, even
with the right phone or e-mail (answering the right one would confirm the guess). Attempts are counted
before the lookup, so a burst of concurrent guesses cannot pass together; a match clears the count, so the
order's owner is not held up by their own visits.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.context import AppContext
from emporium.core.errors import RateLimited
from emporium.orders import schemas
from emporium.orders.errors import OrderError
from emporium.orders.service import orders

TOO_MANY_GUESSES = "Too many attempts to track this order; try again later."


async def track_limited(
    session: AsyncSession,
    ctx: AppContext,
    client_address: str,
    number: str,
    *,
    phone: str | None,
    email: str | None,
) -> schemas.TrackedOrder:
    """``orders.track`` after both limits (429 with ``Retry-After``); a mismatch is the same 404."""
    limiter, settings = ctx.limiter, ctx.settings
    await limiter.enforce(limiter.parse(settings.order_track_rate_limit), "orders.track", client_address)
    per_order = limiter.parse(settings.order_track_order_limit)
    key = number.strip().upper()
    decision = await limiter.check(per_order, "orders.track.order", key)
    if not decision.allowed:
        raise RateLimited(decision.retry_after, TOO_MANY_GUESSES, code=OrderError.TOO_MANY_ATTEMPTS)
    found = await orders.track(session, number, phone=phone, email=email)
    await limiter.clear(per_order, "orders.track.order", key)
    return found
