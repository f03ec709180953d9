"""Who is calling: dependencies that authenticate a request and check permissions on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from emporium.accounts.errors import AccountError
from emporium.accounts.models import User
from emporium.accounts.service import auth
from emporium.core.context import AppContext, Ctx
from emporium.core.errors import Forbidden, Unauthorized
from emporium.core.logging import bind_user
from emporium.core.permissions import Permission, has_permission
from emporium.core.security import InvalidToken
from emporium.core.session import DbSession

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/v1/auth/login.")


@dataclass(frozen=True)
class Principal:
    user: User
    session_id: int


async def _authenticate(
    ctx: AppContext, session: DbSession, credentials: HTTPAuthorizationCredentials | None
) -> Principal | None:
    if credentials is None:
        return None
    try:
        claims = ctx.tokens.decode(credentials.credentials, "access")
    except InvalidToken as exc:
        raise Unauthorized(
            "The access token is not valid.",
            code=AccountError.INVALID_TOKEN,
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc
    user = await auth.user_for_session(session, claims.subject, claims.session_id)
    if user is None:
        raise Unauthorized(
            "The session has ended; sign in again.",
            code=AccountError.SESSION_ENDED,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Principal(user=user, session_id=claims.session_id)


async def optional_principal(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    principal = await _authenticate(ctx, session, credentials)
    request.state.principal = principal
    if principal is not None:
        bind_user(principal.user.id)
    return principal


async def lenient_principal(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """For signing out: an expired or ended access token must not keep a client from ending its session
    with the refresh token it also sends."""
    try:
        return await optional_principal(request, ctx, session, credentials)
    except Unauthorized:
        return None


async def required_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized(headers={"WWW-Authenticate": "Bearer"})
    return principal


async def current_user(principal: Annotated[Principal, Depends(required_principal)]) -> User:
    return principal.user


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]
SigningOut = Annotated[Principal | None, Depends(lenient_principal)]
SignedIn = Annotated[Principal, Depends(required_principal)]
CurrentUser = Annotated[User, Depends(current_user)]


def StaffWith(permission: Permission) -> object:
    """A dependency that lets through only users whose role grants ``permission``."""

    async def check(user: CurrentUser) -> User:
        if not has_permission(user.role, permission):
            raise Forbidden(code=AccountError.PERMISSION_DENIED)
        return user

    return Depends(check)
