"""Whose wishlist a request means: the signed-in customer's, else the guest list named by the
X-Wishlist-Token header or the wishlist_token cookie. A guest never reaches another list: the token is the
only key. A customer's list or item is loaded with its owner in the query, so another's is a 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Cookie, Depends, Header, Response

from emporium.accounts.auth import MaybePrincipal, SignedIn
from emporium.core.config import Settings
from emporium.core.params import IdPath
from emporium.core.session import DbSession
from emporium.wishlists.models import Wishlist
from emporium.wishlists.service import (
    GUEST_LIST_DAYS,
    WISHLIST_TOKEN_COOKIE,
    WISHLIST_TOKEN_HEADER,
    WishlistOwner,
    wishlists,
)

TOKEN_MAX_AGE_SLACK = 3600


async def _owner(
    principal: MaybePrincipal,
    x_wishlist_token: Annotated[
        str | None, Header(max_length=200, description="The guest wishlist's token.")
    ] = None,
    wishlist_token: Annotated[str | None, Cookie(alias=WISHLIST_TOKEN_COOKIE, max_length=200)] = None,
) -> WishlistOwner:
    if principal is not None:
        return WishlistOwner(user_id=principal.user.id, token=None)
    return WishlistOwner(user_id=None, token=x_wishlist_token or wishlist_token or None)


Owner = Annotated[WishlistOwner, Depends(_owner)]


async def _customer_owner(principal: SignedIn) -> WishlistOwner:
    return WishlistOwner(user_id=principal.user.id, token=None)


# Naming, sharing and keeping several lists need an account (401 for a guest).
CustomerOwner = Annotated[WishlistOwner, Depends(_customer_owner)]


async def _own_list(list_id: IdPath, owner: CustomerOwner, session: DbSession) -> Wishlist:
    return await wishlists.owned_list(session, owner, list_id)


OwnList = Annotated[Wishlist, Depends(_own_list)]


def set_token_cookie(response: Response, settings: Settings, token: str) -> None:
    """The one writer of a new guest list's token cookie, for the API and the storefront alike: HttpOnly,
    Secure in production, kept a little longer than the list itself."""
    response.set_cookie(
        WISHLIST_TOKEN_COOKIE,
        token,
        max_age=GUEST_LIST_DAYS * 86400 + TOKEN_MAX_AGE_SLACK,
        httponly=True,
        samesite="lax",
        secure=settings.env == "production",
    )


def hand_out_token(response: Response, settings: Settings, token: str | None) -> None:
    """A new guest list's token goes back in the X-Wishlist-Token header and the cookie."""
    if token is not None:
        response.headers[WISHLIST_TOKEN_HEADER] = token
        set_token_cookie(response, settings, token)
