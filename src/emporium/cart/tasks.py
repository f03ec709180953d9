"""Background work of the cart domain, and the guest-cart merge at sign-in."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.cart.service import CART_TOKEN_COOKIE, CART_TOKEN_HEADER, carts
from emporium.core.config import Settings
from emporium.core.context import AppContext

log = structlog.get_logger(__name__)

REMOVE_EXPIRED_JOB = "cart.remove_expired"
BATCH = 500


async def remove_expired(ctx: AppContext) -> int:
    """Delete carts past their expiry in batches (their lines go with them); how many."""
    removed = 0
    while True:
        async with ctx.db.session() as session:
            count = await carts.remove_expired(session, BATCH)
        removed += count
        if count < BATCH:
            break
    if removed:
        log.info("carts_expired", count=removed)
    return removed


async def remove_expired_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    await remove_expired(ctx)


async def merge_at_login(session: AsyncSession, settings: Settings, user_id: int, request: Request) -> None:
    token = request.headers.get(CART_TOKEN_HEADER) or request.cookies.get(CART_TOKEN_COOKIE)
    if token and len(token) <= 200:
        await carts.merge_guest_cart(session, settings, user_id=user_id, token=token)
