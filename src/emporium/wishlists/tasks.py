"""Background work of wishlists, and the guest list's merge at sign-in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.context import AppContext
from emporium.wishlists.service import WISHLIST_TOKEN_COOKIE, WISHLIST_TOKEN_HEADER, wishlists

if TYPE_CHECKING:
    from emporium.accounts.models import User

log = structlog.get_logger(__name__)

REMOVE_EXPIRED_JOB = "wishlists.remove_expired"
BATCH = 500


async def remove_expired(ctx: AppContext) -> int:
    """Delete guest lists past their expiry in batches (their items go with them); how many."""
    removed = 0
    while True:
        async with ctx.db.session() as session:
            count = await wishlists.remove_expired(session, BATCH)
        removed += count
        if count < BATCH:
            break
    if removed:
        log.info("guest_wishlists_expired", count=removed)
    return removed


async def remove_expired_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    await remove_expired(ctx)


async def merge_at_login(session: AsyncSession, settings: Settings, user_id: int, request: Request) -> None:
    token = request.headers.get(WISHLIST_TOKEN_HEADER) or request.cookies.get(WISHLIST_TOKEN_COOKIE)
    if token and len(token) <= 200:
        await wishlists.merge_guest_list(session, user_id=user_id, token=token)


async def export_wishlists(session: AsyncSession, user: User) -> list[dict[str, Any]]:
    return await wishlists.export(session, user.id)


async def erase_wishlists(session: AsyncSession, user: User) -> None:
    await wishlists.erase(session, user.id)
