"""The request owns the transaction: one session per request, committed when the route returns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core import metrics
from emporium.core.changes import announce_to
from emporium.core.context import AppContext
from emporium.core.db import Replica
from emporium.core.read_routing import ReadRouting

# Safe methods must not change anything, so their transactions are read-only (see core/db.py).
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    ctx: AppContext = request.app.state.ctx
    # scope="function" below: commit before the response is sent, so a client never sees a success
    # whose transaction then failed. The session connects on first use, so a request answered from the
    # cache sends no SQL at all; stamps of cached data it changed are announced after the commit.
    read_only = request.method in READ_ONLY_METHODS
    replica = ctx.db.replica
    from_replica = read_only and replica is not None and await _replica_serves(request, replica)
    async with ctx.db.session(
        read_only=read_only, announcer=announce_to(ctx.cache), from_replica=from_replica
    ) as session:
        request.state.db_session = session
        yield session


async def discard_request_session(request: Request) -> None:
    """Rolls back the request's transaction, for a route that answers a lost database itself (the
    storefront's "back soon" page): its session's exit comes after that answer, and must not commit a
    transaction whose connection is gone (PendingRollbackError, a 500)."""
    session: AsyncSession | None = getattr(request.state, "db_session", None)
    if session is not None:
        await session.rollback()


async def _replica_serves(request: Request, replica: Replica) -> bool:
    """Whether this request's reads go to the replica (core/read_routing.py); counted when it might."""
    routing: ReadRouting | None = getattr(request.app.state, "read_routing", None)
    if routing is None or not routing.may_use_replica(request):
        return False
    fresh = await replica.fresh()
    metrics.READ_SESSIONS.labels("replica" if fresh else "primary").inc()
    return fresh


DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]
