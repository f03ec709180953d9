"""Cart API (seed 002 names): /api/v1/cart for signed-in customers and guests alike."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from emporium.accounts.schemas import Country
from emporium.cart import schemas
from emporium.cart.auth import CartForChange, ExistingCart, Owner
from emporium.cart.models import Cart
from emporium.cart.service import carts, item_not_found
from emporium.core.context import Ctx
from emporium.core.errors import errors_doc
from emporium.core.params import API_PREFIX, MAX_ID, PLAIN_TEXT_PATTERN, IdPath
from emporium.core.responses import Envelope, ok
from emporium.core.session import DbSession

router = APIRouter(prefix=f"{API_PREFIX}/cart", tags=["cart"])


async def _view(ctx: Ctx, session: DbSession, cart: Cart | None, owner: Owner) -> schemas.CartRead:
    return await carts.view(session, ctx.settings, cart, user_id=owner.user_id)


@router.get("", responses=errors_doc(401, 422))
async def get_cart(
    ctx: Ctx,
    session: DbSession,
    cart: ExistingCart,
    owner: Owner,
    country: Annotated[Country | None, Query(min_length=2, max_length=2)] = None,
    region: Annotated[str | None, Query(min_length=1, max_length=100, pattern=PLAIN_TEXT_PATTERN)] = None,
    shipping_method_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Envelope[schemas.CartRead]:
    """Current prices, each line's availability, notices, and totals (an estimate of tax and shipping
    when ``country`` and ``shipping_method_id`` are given)."""
    view = await carts.view(
        session,
        ctx.settings,
        cart,
        user_id=owner.user_id,
        country=country,
        region=region,
        shipping_method_id=shipping_method_id,
    )
    return ok(view)


@router.post("/items", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 404, 409, 422))
async def add_item(
    data: schemas.CartAdd, ctx: Ctx, session: DbSession, cart: CartForChange, owner: Owner
) -> Envelope[schemas.CartRead]:
    """One line (``variant_id`` or ``product_id`` with ``quantity``), or up to 100 lines in ``items``.
    Lines of one variant are merged and added to what the cart holds. The list is checked as a whole
    against stock (lines drawing on one pool add up): if one line cannot be had, nothing is added and the
    error names that line (``items.3.quantity``)."""
    return ok(
        await carts.add_and_view(session, ctx.settings, cart, data, user_id=owner.user_id),
        "Added to the cart.",
    )


@router.put("/items/{cart_item_id}", responses=errors_doc(401, 404, 409, 422))
async def update_item(
    cart_item_id: IdPath,
    data: schemas.ItemUpdate,
    ctx: Ctx,
    session: DbSession,
    cart: ExistingCart,
    owner: Owner,
) -> Envelope[schemas.CartRead]:
    if cart is None:
        raise item_not_found()
    await carts.update(session, cart, cart_item_id, data)
    return ok(await _view(ctx, session, cart, owner))


@router.delete("/items/{cart_item_id}", responses=errors_doc(401, 404, 422))
async def remove_item(
    cart_item_id: IdPath, ctx: Ctx, session: DbSession, cart: ExistingCart, owner: Owner
) -> Envelope[schemas.CartRead]:
    if cart is None:
        raise item_not_found()
    await carts.remove(session, cart, cart_item_id)
    return ok(await _view(ctx, session, cart, owner), "Removed from the cart.")


@router.delete("", responses=errors_doc(401, 422))
async def empty_cart(
    ctx: Ctx, session: DbSession, cart: ExistingCart, owner: Owner
) -> Envelope[schemas.CartRead]:
    if cart is not None:
        await carts.empty(session, cart)
    return ok(await _view(ctx, session, cart, owner), "The cart is empty.")


@router.post("/coupon", responses=errors_doc(401, 409, 422))
async def apply_coupon(
    data: schemas.CouponIn, ctx: Ctx, session: DbSession, cart: CartForChange, owner: Owner
) -> Envelope[schemas.CartRead]:
    """One coupon per cart: a new code replaces the old one. An unusable code is refused with the reason."""
    await carts.apply_coupon(session, ctx.settings, cart, data.code, user_id=owner.user_id)
    return ok(await _view(ctx, session, cart, owner), "Coupon applied.")


@router.delete("/coupon", responses=errors_doc(401, 422))
async def remove_coupon(
    ctx: Ctx, session: DbSession, cart: ExistingCart, owner: Owner
) -> Envelope[schemas.CartRead]:
    if cart is not None:
        cart.coupon_code = None
    return ok(await _view(ctx, session, cart, owner), "Coupon removed.")


@router.get("/shipping-options", responses=errors_doc(401, 422))
async def shipping_options(
    ctx: Ctx,
    session: DbSession,
    cart: ExistingCart,
    country: Annotated[Country, Query(min_length=2, max_length=2)],
) -> Envelope[list[schemas.ShippingOptionRead]]:
    """The shipping methods that deliver to ``country``, each priced for the caller's cart as it stands."""
    options = await carts.shipping_options(session, ctx.settings, cart, country=country)
    return ok(options)


@router.post("/validate-inventory", responses=errors_doc(401, 422))
async def validate_inventory(session: DbSession, cart: ExistingCart) -> Envelope[schemas.InventoryCheck]:
    """Seed 003: which lines can be bought as they stand, with the reason for each that cannot."""
    return ok(await carts.check(session, cart))
