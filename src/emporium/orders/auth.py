"""Who may touch which order: customers their own (another's is a 404, not a 403), staff by permission."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Header
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.auth import CurrentUser, MaybePrincipal, StaffWith
from emporium.accounts.models import User
from emporium.core.config import Settings
from emporium.core.context import Ctx
from emporium.core.errors import Unauthorized
from emporium.core.params import IdPath
from emporium.core.permissions import Permission, has_permission
from emporium.core.session import DbSession
from emporium.orders.models import Order
from emporium.orders.service import order_not_found, orders


def order_access_token(settings: Settings, order: Order) -> str:
    """The key a guest gets with their order (POST /orders answer) to read it, pay it or cancel it: an HMAC
    of the order, so nothing is stored and it cannot be guessed from the number."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, f"order-access:{order.id}:{order.number}".encode(), hashlib.sha256).hexdigest()


def may_reach(settings: Settings, order: Order | None, user_id: int | None, token: str | None) -> bool:
    """Who reaches an order: the signed-in customer ``user_id`` their own; a guest (no user) an order
    placed without an account, with its access token."""
    if order is None:
        return False
    if user_id is not None:
        return order.user_id == user_id
    return (
        order.user_id is None
        and token is not None
        and hmac.compare_digest(token, order_access_token(settings, order))
    )


async def reachable_order(
    session: AsyncSession,
    settings: Settings,
    order_id: int,
    *,
    user_id: int | None,
    token: str | None,
    lock: bool = False,
) -> Order:
    """The order when ``may_reach`` lets the caller reach it (locked FOR UPDATE with ``lock``); anything
    else, another customer's order included, is not found. For the API's guards and the storefront."""
    order = await orders.order(session, order_id, lock=lock)
    if not may_reach(settings, order, user_id, token):
        raise order_not_found()
    assert order is not None
    return order


OrderToken = Annotated[str | None, Header(alias="X-Order-Token", max_length=128)]


async def _own_order(
    order_id: IdPath, ctx: Ctx, session: DbSession, principal: MaybePrincipal, token: OrderToken = None
) -> Order:
    """A customer's own order, or a guest order with its X-Order-Token; anything else is not found."""
    if principal is None and token is None:
        raise Unauthorized(headers={"WWW-Authenticate": "Bearer"})
    user_id = principal.user.id if principal is not None else None
    return await reachable_order(session, ctx.settings, order_id, user_id=user_id, token=token)


async def _own_order_locked(
    order_id: IdPath, ctx: Ctx, session: DbSession, principal: MaybePrincipal, token: OrderToken = None
) -> Order:
    if principal is None and token is None:
        raise Unauthorized(headers={"WWW-Authenticate": "Bearer"})
    user_id = principal.user.id if principal is not None else None
    return await reachable_order(session, ctx.settings, order_id, user_id=user_id, token=token, lock=True)


async def _readable_order(order_id: IdPath, session: DbSession, user: CurrentUser) -> Order:
    """The customer's own order, or any order for staff who may read orders (invoices)."""
    order = await orders.order(session, order_id)
    if order is None or (order.user_id != user.id and not has_permission(user.role, Permission.ORDERS_READ)):
        raise order_not_found()
    return order


async def _staff_order(
    order_id: IdPath, session: DbSession, _staff: Annotated[User, StaffWith(Permission.ORDERS_READ)]
) -> Order:
    order = await orders.order(session, order_id)
    if order is None:
        raise order_not_found()
    return order


async def _staff_order_locked(
    order_id: IdPath, session: DbSession, _staff: Annotated[User, StaffWith(Permission.ORDERS_UPDATE)]
) -> Order:
    order = await orders.order(session, order_id, lock=True)
    if order is None:
        raise order_not_found()
    return order


OwnOrder = Annotated[Order, Depends(_own_order)]
# Locked FOR UPDATE (PostgreSQL) so two moves of one order queue instead of racing.
OwnOrderForUpdate = Annotated[Order, Depends(_own_order_locked)]
ReadableOrder = Annotated[Order, Depends(_readable_order)]
StaffOrder = Annotated[Order, Depends(_staff_order)]
StaffOrderForUpdate = Annotated[Order, Depends(_staff_order_locked)]
OrdersReader = Annotated[User, StaffWith(Permission.ORDERS_READ)]
OrdersUpdater = Annotated[User, StaffWith(Permission.ORDERS_UPDATE)]
