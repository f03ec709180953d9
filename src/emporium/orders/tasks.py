"""Background work of the orders domain: pending orders past their deadline expire, old idempotency keys are
forgotten."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from emporium.core import idempotency
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.orders.lifecycle import OFFLINE_METHODS, lifecycle
from emporium.orders.models import OrderStatus
from emporium.orders.service import orders

log = structlog.get_logger(__name__)

EXPIRE_UNPAID_JOB = "orders.expire_unpaid"
FORGET_KEYS_JOB = "orders.forget_idempotency_keys"
EXPIRY_BATCH = 100
IDEMPOTENCY_KEY_DAYS = 7


async def expire_unpaid(ctx: AppContext, *, limit: int = EXPIRY_BATCH) -> int:
    """Cancel pending orders past their deadline (unpaid online orders; cash-on-delivery and bank-transfer
    orders staff have not confirmed) and release their stock; how many."""
    async with ctx.db.session() as session:
        expired = 0
        for order_id in await orders.due_for_expiry(session, utcnow(), limit):
            order = await orders.order(session, order_id)
            if order is None:
                continue
            await lifecycle.move(
                session,
                ctx.settings,
                order,
                OrderStatus.CANCELLED,
                actor_user_id=None,
                note="Not confirmed in time."
                if order.payment_method in OFFLINE_METHODS
                else "Payment not received in time.",
                kind="expired",
            )
            expired += 1
    if expired:
        log.info("orders_expired", count=expired)
    return expired


async def expire_unpaid_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    # A full batch means more may be waiting: keep going until a batch comes back short.
    while await expire_unpaid(ctx) == EXPIRY_BATCH:
        pass


async def forget_keys_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    async with ctx.db.session() as session:
        await idempotency.forget_older_than(session, utcnow() - timedelta(days=IDEMPOTENCY_KEY_DAYS))
