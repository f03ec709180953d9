"""Accounts API: /api/v1/auth/* and /api/v1/users/*."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse

from emporium.accounts import schemas
from emporium.accounts.auth import CurrentUser, SignedIn, SigningOut
from emporium.accounts.hooks import after_login
from emporium.accounts.privacy import erase_user, export_user
from emporium.accounts.profile import profiles
from emporium.accounts.service import ClientInfo, RefreshTokenReused, auth, to_read
from emporium.core.context import Ctx
from emporium.core.errors import Unauthorized, errors_doc
from emporium.core.params import API_PREFIX, IdPath
from emporium.core.responses import Envelope, ok
from emporium.core.session import DbSession


def client_info(request: Request) -> ClientInfo:
    return ClientInfo(
        ip=request.client.host if request.client else "unknown",
        user_agent=request.headers.get("user-agent"),
    )


async def auth_rate_limit(request: Request, ctx: Ctx) -> None:
    """Per-client-address limit on every /auth route, against credential stuffing and mail bombing."""
    limit = ctx.limiter.parse(ctx.settings.auth_rate_limit)
    await ctx.limiter.enforce(limit, "auth", client_info(request).ip)


# Every /auth route is rate limited per client address (429), and sign-in locks an e-mail out after failures.
auth_router = APIRouter(
    prefix=f"{API_PREFIX}/auth",
    tags=["auth"],
    dependencies=[Depends(auth_rate_limit)],
    responses=errors_doc(429),
)
users_router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["users"])

ACCEPTED = "If the address can receive it, an e-mail is on its way."


@auth_router.post("/register", status_code=status.HTTP_201_CREATED, responses=errors_doc(422))
async def register(data: schemas.RegisterIn, session: DbSession, ctx: Ctx) -> Envelope[dict[str, str]]:
    """Create a customer account. The answer is the same whether or not the address was already taken."""
    await auth.register(session, ctx, data)
    return ok(
        {"email": data.email.lower()},
        "Registration received. Check your e-mail to confirm your address, then sign in.",
    )


@auth_router.post("/login", responses=errors_doc(401, 422))
async def login(
    data: schemas.LoginIn, request: Request, session: DbSession, ctx: Ctx
) -> Envelope[schemas.TokenPair]:
    pair = await auth.login(session, ctx, data, client_info(request))
    await after_login(session, ctx.settings, pair.user.id, request)
    return ok(pair)


@auth_router.post("/refresh", responses=errors_doc(401, 422))
async def refresh(data: schemas.RefreshIn, session: DbSession, ctx: Ctx) -> Envelope[schemas.TokenPair]:
    """Trade a refresh token for a new pair. The old refresh token stops working."""
    try:
        pair = await auth.refresh(session, ctx, data.refresh_token)
    except RefreshTokenReused:
        # The revocation of the reused token's session must outlive the refusal.
        await session.commit()
        raise
    return ok(pair)


@auth_router.post("/logout", responses=errors_doc(401, 422))
async def logout(
    principal: SigningOut, session: DbSession, data: schemas.LogoutIn | None = None
) -> Envelope[None]:
    """End the session: its refresh token and its access tokens stop working."""
    refresh_token = data.refresh_token if data else None
    if principal is None and not refresh_token:
        raise Unauthorized("Send the access token or the refresh token of the session to end.")
    await auth.logout(
        session,
        user_id=principal.user.id if principal else None,
        session_id=principal.session_id if principal else None,
        refresh_token=refresh_token,
    )
    return ok(None, "Signed out.")


@auth_router.post("/forgot-password", status_code=status.HTTP_202_ACCEPTED, responses=errors_doc(422))
async def forgot_password(data: schemas.EmailIn, session: DbSession, ctx: Ctx) -> Envelope[None]:
    await auth.forgot_password(session, ctx, data.email)
    return ok(None, ACCEPTED)


@auth_router.post("/reset-password", responses=errors_doc(400, 422))
async def reset_password(data: schemas.ResetPasswordIn, session: DbSession, ctx: Ctx) -> Envelope[None]:
    await auth.reset_password(session, ctx, data.token, data.password)
    return ok(None, "Your password was changed. Sign in with the new one.")


@auth_router.post("/verify-email", responses=errors_doc(400, 422))
async def verify_email(data: schemas.VerifyEmailIn, session: DbSession) -> Envelope[schemas.UserRead]:
    return ok(to_read(await auth.verify_email(session, data.token)), "Your e-mail address is confirmed.")


@auth_router.post("/resend-verification", status_code=status.HTTP_202_ACCEPTED, responses=errors_doc(422))
async def resend_verification(data: schemas.EmailIn, session: DbSession, ctx: Ctx) -> Envelope[None]:
    await auth.resend_verification(session, ctx, data.email)
    return ok(None, ACCEPTED)


@users_router.get("/profile", responses=errors_doc(401))
async def get_profile(user: CurrentUser) -> Envelope[schemas.UserRead]:
    return ok(to_read(user))


@users_router.put("/profile", responses=errors_doc(401, 422))
async def update_profile(
    data: schemas.ProfileUpdate, user: CurrentUser, session: DbSession
) -> Envelope[schemas.UserRead]:
    profiles.update_profile(user, data)
    await session.flush()
    return ok(to_read(user), "Profile updated.")


@users_router.put("/password", responses=errors_doc(401, 422))
async def change_password(
    data: schemas.PasswordChange, principal: SignedIn, session: DbSession, ctx: Ctx
) -> Envelope[None]:
    """Needs the current password; signs out every other session."""
    await profiles.change_password(session, ctx, principal.user, data, principal.session_id)
    return ok(None, "Password changed. Other devices were signed out.")


@users_router.delete("/account", responses=errors_doc(401, 422))
async def delete_account(
    data: schemas.AccountDelete, user: CurrentUser, session: DbSession, ctx: Ctx
) -> Envelope[None]:
    """Erase personal data (orders stay, anonymised, for the books). Needs the password."""
    await erase_user(session, ctx, user, data.password)
    return ok(None, "Your account was deleted and your personal data erased.")


@users_router.get("/export", responses=errors_doc(401))
async def export_account(user: CurrentUser, session: DbSession) -> JSONResponse:
    """Everything held about the caller, as a JSON download."""
    data: dict[str, Any] = await export_user(session, user)
    return JSONResponse(
        {"success": True, "data": data, "message": None},
        headers={"Content-Disposition": f'attachment; filename="emporium-export-{user.id}.json"'},
    )


@users_router.get("/addresses", responses=errors_doc(401))
async def list_addresses(user: CurrentUser, session: DbSession) -> Envelope[list[schemas.AddressRead]]:
    return ok([schemas.AddressRead.model_validate(a) for a in await profiles.addresses(session, user)])


@users_router.post("/addresses", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 422))
async def add_address(
    data: schemas.AddressCreate, user: CurrentUser, session: DbSession
) -> Envelope[schemas.AddressRead]:
    address = await profiles.add_address(session, user, data)
    await session.refresh(address)
    return ok(schemas.AddressRead.model_validate(address), "Address saved.")


@users_router.get("/addresses/{address_id}", responses=errors_doc(401, 404, 422))
async def get_address(
    address_id: IdPath, user: CurrentUser, session: DbSession
) -> Envelope[schemas.AddressRead]:
    return ok(schemas.AddressRead.model_validate(await profiles.address(session, user, address_id)))


@users_router.put("/addresses/{address_id}", responses=errors_doc(401, 404, 422))
async def update_address(
    address_id: IdPath, data: schemas.AddressUpdate, user: CurrentUser, session: DbSession
) -> Envelope[schemas.AddressRead]:
    address = await profiles.update_address(session, user, address_id, data)
    return ok(schemas.AddressRead.model_validate(address), "Address updated.")


@users_router.delete("/addresses/{address_id}", responses=errors_doc(401, 404, 422))
async def delete_address(address_id: IdPath, user: CurrentUser, session: DbSession) -> Envelope[None]:
    await profiles.delete_address(session, user, address_id)
    return ok(None, "Address deleted.")
