"""The request owns the transaction: one session per request, committed when the route returns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.context import AppContext
from emporium.core.db import READ_ONLY_OPTION

# Safe methods must not change anything, so their transactions are read-only (see core/db.py).
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    ctx: AppContext = request.app.state.ctx
    # scope="function" below: commit before the response is sent, so a client never sees a success
    # whose transaction then failed.
    async with ctx.db.session() as session:
        if request.method in READ_ONLY_METHODS:
            await session.connection(execution_options={READ_ONLY_OPTION: True})
        yield session


DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]
