"""The request owns the transaction: one session per request, committed when the route returns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.changes import announce_to
from emporium.core.context import AppContext

# Safe methods must not change anything, so their transactions are read-only (see core/db.py).
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    ctx: AppContext = request.app.state.ctx
    # scope="function" below: commit before the response is sent, so a client never sees a success
    # whose transaction then failed. The session connects on first use, so a request answered from the
    # cache sends no SQL at all; stamps of cached data it changed are announced after the commit.
    read_only = request.method in READ_ONLY_METHODS
    async with ctx.db.session(read_only=read_only, announcer=announce_to(ctx.cache)) as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]
