"""Whose cart a request means: the signed-in customer's, else the guest cart named by the X-Cart-Token
header or the cart_token cookie. A guest never reaches another cart: the token is the only key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Cookie, Depends, Header, Response

from emporium.accounts.auth import MaybePrincipal
from emporium.cart.models import Cart
from emporium.cart.service import CART_TOKEN_COOKIE, CART_TOKEN_HEADER, carts
from emporium.core.config import Settings
from emporium.core.context import Ctx
from emporium.core.session import DbSession

TOKEN_MAX_AGE_SLACK = 3600


@dataclass(frozen=True)
class CartOwner:
    user_id: int | None
    token: str | None


async def _owner(
    principal: MaybePrincipal,
    x_cart_token: Annotated[str | None, Header(max_length=200, description="The guest cart's token.")] = None,
    cart_token: Annotated[str | None, Cookie(alias=CART_TOKEN_COOKIE, max_length=200)] = None,
) -> CartOwner:
    if principal is not None:
        return CartOwner(user_id=principal.user.id, token=None)
    return CartOwner(user_id=None, token=x_cart_token or cart_token)


Owner = Annotated[CartOwner, Depends(_owner)]


def set_token_cookie(response: Response, settings: Settings, token: str) -> None:
    """The one writer of a new guest cart's token cookie, for the API and the storefront alike: HttpOnly
    (no script can read it), Secure in production, and kept a little longer than the cart itself."""
    response.set_cookie(
        CART_TOKEN_COOKIE,
        token,
        max_age=settings.cart_guest_ttl_days * 86400 + TOKEN_MAX_AGE_SLACK,
        httponly=True,
        samesite="lax",
        secure=settings.env == "production",
    )


async def _existing_cart(owner: Owner, ctx: Ctx, session: DbSession) -> Cart | None:
    return await carts.find(session, ctx.settings, user_id=owner.user_id, token=owner.token)


async def _cart_for_change(owner: Owner, ctx: Ctx, session: DbSession, response: Response) -> Cart:
    """The caller's cart, made on the first change; a new guest cart's token goes back in the
    X-Cart-Token header and an HttpOnly cookie."""
    cart, token = await carts.get_or_create(session, ctx.settings, user_id=owner.user_id, token=owner.token)
    if token is not None:
        response.headers[CART_TOKEN_HEADER] = token
        set_token_cookie(response, ctx.settings, token)
    return cart


ExistingCart = Annotated[Cart | None, Depends(_existing_cart)]
CartForChange = Annotated[Cart, Depends(_cart_for_change)]
