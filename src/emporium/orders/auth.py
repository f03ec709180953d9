"""Who may touch which order: customers their own (another's is a 404, not a 403), staff by permission."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from emporium.accounts.auth import CurrentUser, StaffWith
from emporium.accounts.models import User
from emporium.core.params import IdPath
from emporium.core.permissions import Permission, has_permission
from emporium.core.session import DbSession
from emporium.orders.models import Order
from emporium.orders.repository import OrderRepository
from emporium.orders.service import order_not_found


async def _own_order(order_id: IdPath, session: DbSession, user: CurrentUser) -> Order:
    order = await OrderRepository(session).order(order_id)
    if order is None or order.user_id != user.id:
        raise order_not_found()
    return order


async def _own_order_locked(order_id: IdPath, session: DbSession, user: CurrentUser) -> Order:
    order = await OrderRepository(session).order(order_id, lock=True)
    if order is None or order.user_id != user.id:
        raise order_not_found()
    return order


async def _readable_order(order_id: IdPath, session: DbSession, user: CurrentUser) -> Order:
    """The customer's own order, or any order for staff who may read orders (invoices)."""
    order = await OrderRepository(session).order(order_id)
    if order is None or (order.user_id != user.id and not has_permission(user.role, Permission.ORDERS_READ)):
        raise order_not_found()
    return order


async def _staff_order(
    order_id: IdPath, session: DbSession, _staff: Annotated[User, StaffWith(Permission.ORDERS_READ)]
) -> Order:
    order = await OrderRepository(session).order(order_id)
    if order is None:
        raise order_not_found()
    return order


async def _staff_order_locked(
    order_id: IdPath, session: DbSession, _staff: Annotated[User, StaffWith(Permission.ORDERS_UPDATE)]
) -> Order:
    order = await OrderRepository(session).order(order_id, lock=True)
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
