"""Who may touch a payment: whoever reaches its order (the customer, a guest with the order's X-Order-Token,
as orders/auth.py says) and staff who may read orders; money moved by staff needs its own permission."""

from __future__ import annotations

from typing import Annotated

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.auth import Principal, StaffWith
from emporium.accounts.models import User
from emporium.core.config import Settings
from emporium.core.errors import NotFound
from emporium.core.permissions import Permission, has_permission
from emporium.orders.auth import may_reach
from emporium.orders.models import Order
from emporium.orders.service import order_not_found
from emporium.payments.errors import PaymentError
from emporium.payments.fetch import fetch
from emporium.payments.models import Payment
from emporium.payments.service import payments

Refunder = Annotated[User, StaffWith(Permission.REFUNDS_CREATE)]
Verifier = Annotated[User, StaffWith(Permission.PAYMENTS_VERIFY)]


async def reachable_order(
    session: AsyncSession, settings: Settings, principal: Principal | None, token: str | None, order_id: int
) -> Order:
    """The caller's order (a guest's with its X-Order-Token), locked; staff who may read orders reach any.
    Anything else is not found. The order's id comes from the path or the body, so this is called by the
    route rather than declared as a dependency."""
    order = await payments.lock_order(session, order_id)
    staff = principal is not None and has_permission(principal.user.role, Permission.ORDERS_READ)
    user_id = principal.user.id if principal is not None else None
    if not staff and not may_reach(settings, order, user_id, token):
        raise order_not_found()
    return order


async def reachable_payment(
    session: AsyncSession, settings: Settings, principal: Principal | None, token: str | None, payment_id: int
) -> tuple[Payment, Order]:
    """A payment of an order the caller reaches (``reachable_order``), with that order locked."""
    payment = await fetch.payment(session, payment_id)
    if payment is None:
        raise NotFound("No such payment.", code=PaymentError.PAYMENT_NOT_FOUND)
    return payment, await reachable_order(session, settings, principal, token, payment.order_id)
