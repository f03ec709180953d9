"""While the database cannot be reached, requests are answered 503 with Retry-After, not 500.

A lost database is an outage the client can wait out, not a bug: the API answers the standard error body
with 503 ``DATABASE_UNAVAILABLE`` and the storefront its error page ("back soon"), both with Retry-After.
What counts as unreachable: a refused or reset connection (a new connection to a stopped server raises
the socket's own error), a pooled connection the server closed (SQLAlchemy marks it invalidated), the
server refusing connections while it starts or stops, and a pool with no connection to hand out.
Any other database error is still a 500: it is a bug to fix, not an outage to wait for.
"""

from __future__ import annotations

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from emporium.core.errors import ErrorPages, _or_page, _unexpected_error, error_response

log = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 30
MESSAGE = "The shop is briefly unavailable. Please try again in a minute."
OUTAGE_HEADERS = {"Retry-After": str(RETRY_AFTER_SECONDS)}
# What asyncpg raises by itself when the server is there but will not take a connection.
_SERVER_REFUSES = (
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)
HANDLED = (sa_exc.DBAPIError, sa_exc.TimeoutError, ConnectionError, *_SERVER_REFUSES)


def database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, sa_exc.TimeoutError, *_SERVER_REFUSES)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(exc.orig, (ConnectionError, *_SERVER_REFUSES))
    return False


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    if not database_unavailable(exc):
        return await _unexpected_error(request, exc)
    log.warning("database_unavailable", path=request.url.path, error_type=type(exc).__name__)
    return error_response(503, "DATABASE_UNAVAILABLE", MESSAGE, headers=dict(OUTAGE_HEADERS))


def install_outage_handlers(app: FastAPI, pages: ErrorPages | None = None) -> None:
    handler = _or_page(_unavailable, pages)
    for kind in HANDLED:
        app.add_exception_handler(kind, handler)
