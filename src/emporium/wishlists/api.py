"""Wishlist API: /api/v1/wishlist (the default list, for customers and guests alike) and
/api/v1/wishlists (a customer's named lists and their share links)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from emporium.cart.auth import Owner as CartOwner
from emporium.cart.auth import set_token_cookie as set_cart_cookie
from emporium.cart.service import CART_TOKEN_HEADER
from emporium.core.context import Ctx
from emporium.core.errors import errors_doc
from emporium.core.params import API_PREFIX, IdPath
from emporium.core.responses import Envelope, ok
from emporium.core.session import DbSession
from emporium.wishlists import schemas
from emporium.wishlists.auth import CustomerOwner, Owner, OwnList, hand_out_token
from emporium.wishlists.service import wishlists

router = APIRouter(prefix=API_PREFIX, tags=["wishlists"])


@router.get("/wishlist", responses=errors_doc(401, 422))
async def get_wishlist(ctx: Ctx, session: DbSession, owner: Owner) -> Envelope[schemas.WishlistRead]:
    """The default list with each item's price now and when added, the price drop, and availability."""
    wishlist = await wishlists.find_default(session, owner)
    return ok(await wishlists.view(session, ctx.settings, wishlist))


@router.post("/wishlist", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 404, 409, 422))
async def add_to_wishlist(
    data: schemas.ItemAdd, ctx: Ctx, session: DbSession, owner: Owner, response: Response
) -> Envelope[schemas.WishlistRead]:
    """Add a product (with ``variant_id``, that option) to the default list, or to ``list_id``. A guest's
    first add makes their list; its token comes back in the X-Wishlist-Token header and a cookie."""
    wishlist, _, made = await wishlists.add(session, owner, data)
    hand_out_token(response, ctx.settings, made)
    return ok(await wishlists.view(session, ctx.settings, wishlist), "Added to your wishlist.")


@router.delete("/wishlist/{item_id}", responses=errors_doc(401, 404, 422))
async def remove_from_wishlist(
    item_id: IdPath, ctx: Ctx, session: DbSession, owner: Owner
) -> Envelope[schemas.WishlistRead]:
    await wishlists.remove_item(session, owner, item_id)
    return ok(await wishlists.find_and_view(session, ctx.settings, owner), "Removed from your wishlist.")


@router.post("/wishlist/{item_id}/move-to-cart", responses=errors_doc(401, 404, 409, 422))
async def move_to_cart(
    item_id: IdPath, ctx: Ctx, session: DbSession, owner: Owner, cart_owner: CartOwner, response: Response
) -> Envelope[schemas.MovedToCart]:
    """One of the item's variant goes into the cart and the item leaves its list. A sold-out item stays
    on the list (409 SOLD_OUT, with a message to show). A guest's new cart token comes back as the cart
    API hands it out."""
    message, variant_id, list_id, cart_token = await wishlists.move_to_cart(
        session, ctx.settings, owner, item_id, cart_token=cart_owner.token
    )
    if cart_token is not None:
        response.headers[CART_TOKEN_HEADER] = cart_token
        set_cart_cookie(response, ctx.settings, cart_token)
    wishlist = await wishlists.owned_list(session, owner, list_id)
    view = await wishlists.view(session, ctx.settings, wishlist)
    return ok(schemas.MovedToCart(message=message, variant_id=variant_id, wishlist=view), message)


@router.get("/wishlist/shared/{token}", responses=errors_doc(404, 422))
async def get_shared_wishlist(
    token: Annotated[str, Path(min_length=1, max_length=64)], ctx: Ctx, session: DbSession
) -> Envelope[schemas.SharedWishlistRead]:
    """A list shared by link: its name and items, nothing about its owner. A revoked link is a 404."""
    shared, _ = await wishlists.shared(session, ctx.settings, token)
    return ok(shared)


@router.get("/wishlists", responses=errors_doc(401, 422))
async def list_wishlists(session: DbSession, owner: CustomerOwner) -> Envelope[list[schemas.WishlistSummary]]:
    """The customer's lists, the default first, each with its number of items."""
    return ok(await wishlists.lists(session, owner.user_id or 0))


@router.post("/wishlists", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 409, 422))
async def create_wishlist(
    data: schemas.ListCreate, ctx: Ctx, session: DbSession, owner: CustomerOwner
) -> Envelope[schemas.WishlistRead]:
    wishlist = await wishlists.create_list(session, owner.user_id or 0, data.name)
    return ok(await wishlists.view(session, ctx.settings, wishlist), "List created.")


@router.get("/wishlists/{list_id}", responses=errors_doc(401, 404, 422))
async def get_wishlist_by_id(
    ctx: Ctx, session: DbSession, wishlist: OwnList
) -> Envelope[schemas.WishlistRead]:
    return ok(await wishlists.view(session, ctx.settings, wishlist))


@router.patch("/wishlists/{list_id}", responses=errors_doc(401, 404, 409, 422))
async def update_wishlist(
    data: schemas.ListUpdate, ctx: Ctx, session: DbSession, wishlist: OwnList
) -> Envelope[schemas.WishlistRead]:
    """Rename a list, or change who may read it: ``private`` stops its share link; ``link`` and ``public``
    need one (POST .../share)."""
    await wishlists.update_list(session, wishlist, data)
    return ok(await wishlists.view(session, ctx.settings, wishlist), "List saved.")


@router.delete("/wishlists/{list_id}", responses=errors_doc(401, 404, 409, 422))
async def delete_wishlist(session: DbSession, wishlist: OwnList) -> Envelope[None]:
    """The default list cannot be deleted while the customer has other lists (409 DEFAULT_LIST_KEPT)."""
    await wishlists.delete_list(session, wishlist)
    return ok(None, "List deleted.")


@router.post(
    "/wishlists/{list_id}/share", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 404, 422)
)
async def share_wishlist(
    ctx: Ctx, wishlist: OwnList, data: schemas.ShareCreate | None = None
) -> Envelope[schemas.ShareRead]:
    """A new share link (any older link of the list stops working). Only a digest of it is kept, so it is
    shown this once; ``public`` lets search engines index the shared page."""
    shared = wishlists.share(ctx.settings, wishlist, (data or schemas.ShareCreate()).visibility)
    return ok(shared, "Anyone with this link can see the list.")


@router.delete("/wishlists/{list_id}/share", responses=errors_doc(401, 404, 422))
async def revoke_share(ctx: Ctx, session: DbSession, wishlist: OwnList) -> Envelope[schemas.WishlistRead]:
    """The link stops working (404) and the list is private again."""
    wishlists.revoke(wishlist)
    return ok(await wishlists.view(session, ctx.settings, wishlist), "The list is private again.")
