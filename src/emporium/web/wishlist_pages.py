"""The wishlist pages: the heart on product cards and the product page, a guest's list at /wishlist, a
customer's lists at /account/wishlist, and a list shared by link at /wishlist/shared/{token}.

Every change goes through the wishlist service, as the API does: a guest's list is named by the same
HttpOnly ``wishlist_token`` cookie the API reads, a customer's by their account. The heart on a product
card carries no state (reading it would cost the category page a statement); it says "saved" once
pressed. The product page's heart asks for its state after the page has loaded (/wishlist/heart/{id}), so
the product page's own statements do not change either.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Form, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse

from emporium.cart.auth import set_token_cookie as set_cart_cookie
from emporium.core.errors import EmporiumError, ValidationFailed
from emporium.core.params import MAX_ID, IdPath
from emporium.web.account_pages import sign_in_first
from emporium.web.cart_pages import guest_token, thumbnails
from emporium.web.page import PageContext, ShopPage
from emporium.web.routing import page_router
from emporium.wishlists import schemas
from emporium.wishlists.auth import set_token_cookie
from emporium.wishlists.service import WISHLIST_TOKEN_COOKIE, WishlistOwner, wishlists

router = page_router()

LIST_PAGE = "web/wishlist/list.html.j2"
SHARED_PAGE = "web/wishlist/shared.html.j2"
HEART = "web/_wishlist_heart.html.j2"
FormText = Annotated[str, Form(max_length=64)]
_ID = re.compile(r"[0-9]{1,19}")


def page_owner(page: PageContext) -> WishlistOwner:
    if page.customer is not None:
        return WishlistOwner(user_id=page.customer.id, token=None)
    token = page.request.cookies.get(WISHLIST_TOKEN_COOKIE)
    return WishlistOwner(user_id=None, token=token if token and len(token) <= 200 else None)


def _is_htmx(page: PageContext) -> bool:
    return page.request.headers.get("HX-Request") == "true"


def _list_url(page: PageContext, list_id: int | None = None) -> str:
    if page.customer is None:
        return "/wishlist"
    return "/account/wishlist" + (f"?list={list_id}" if list_id else "")


def parse_id(text: str, field: str) -> int:
    """An id posted by a form; anything but a whole number from 1 to the largest id is a 422 naming the
    field."""
    value = text.strip()
    if not _ID.fullmatch(value) or not 1 <= int(value) <= MAX_ID:
        raise ValidationFailed("Choose a product.", details=[{"field": field, "message": "not a known id"}])
    return int(value)


def _optional_id(text: str, field: str) -> int | None:
    return parse_id(text, field) if text.strip() else None


async def render_list(
    page: PageContext,
    *,
    list_id: int | None = None,
    status_code: int = 200,
    notice: str | None = None,
    notice_kind: str = "success",
    errors: dict[str, str] | None = None,
    share: schemas.ShareRead | None = None,
) -> HTMLResponse:
    """The caller's list (a customer's ``list_id``, else their default) with its items, and for a
    customer their other lists and the forms that manage them."""
    owner = page_owner(page)
    summaries: list[schemas.WishlistSummary] = []
    if page.customer is not None:
        summaries = await wishlists.lists(page.session, page.customer.id)
        chosen = list_id or next((s.id for s in summaries if s.is_default), None)
        found = await wishlists.owned_list(page.session, owner, chosen) if chosen else None
    else:
        found = await wishlists.find_default(page.session, owner)
    view = await wishlists.view(page.session, page.settings, found)
    context: dict[str, Any] = {
        "wishlist": view,
        "lists": summaries,
        "thumbs": await thumbnails(page, [item.product_id for item in view.items]),
        "notice": notice,
        "notice_kind": notice_kind,
        "errors": errors or {},
        "share": share,
        "layout": "web/account/_layout.html.j2" if page.customer else "web/base.html.j2",
        "section": "wishlist",
        "name_max": schemas.NAME_MAX,
    }
    return await page.render(LIST_PAGE, status_code=status_code, title="Your wishlist", **context)


# The heart ----------------------------------------------------------------------------------------------


async def _heart(
    page: PageContext, product_id: int, wished: bool, *, message: str | None = None, status_code: int = 200
) -> HTMLResponse:
    return await page.fragment(
        HEART, status_code=status_code, product={"id": product_id}, wished=wished, heart_message=message
    )


@router.get("/wishlist/heart/{product_id}", response_class=HTMLResponse)
async def heart(product_id: IdPath, page: ShopPage) -> HTMLResponse:
    """The product page's heart with its state, asked for once the page has loaded."""
    wished = await wishlists.wishlisted(page.session, page_owner(page), [product_id])
    return await _heart(page, product_id, product_id in wished)


@router.post("/wishlist/add", response_class=HTMLResponse, response_model=None)
async def add(
    page: ShopPage, product_id: FormText = "", variant_id: FormText = ""
) -> HTMLResponse | RedirectResponse:
    """A heart pressed (htmx gets the pressed heart back), or the product page's form without script."""
    data = schemas.ItemAdd(
        product_id=parse_id(product_id, "product_id"),
        variant_id=_optional_id(variant_id, "variant_id"),
    )
    response: HTMLResponse | RedirectResponse
    try:
        wishlist, _, made = await wishlists.add(page.session, page_owner(page), data)
    except EmporiumError as exc:
        if not _is_htmx(page):
            raise
        # Refused before anything changed; the heart says why instead of becoming an error page.
        return await _heart(page, data.product_id, False, message=exc.message, status_code=exc.status_code)
    if _is_htmx(page):
        response = await _heart(page, data.product_id, True, message="Saved to your wishlist.")
    else:
        response = page.redirect(_list_url(page, wishlist.id))
    if made is not None:
        set_token_cookie(response, page.settings, made)
    return response


@router.post("/wishlist/remove", response_class=HTMLResponse, response_model=None)
async def remove_product(page: ShopPage, product_id: FormText = "") -> HTMLResponse | RedirectResponse:
    """The heart pressed again: the product leaves the default list."""
    wanted = parse_id(product_id, "product_id")
    await wishlists.remove_product(page.session, page_owner(page), wanted)
    if _is_htmx(page):
        return await _heart(page, wanted, False, message="Removed from your wishlist.")
    return page.redirect(_list_url(page))


# A list's items -----------------------------------------------------------------------------------------


@router.get("/wishlist", response_class=HTMLResponse, response_model=None)
async def guest_list(page: ShopPage) -> HTMLResponse | RedirectResponse:
    if page.customer is not None:
        return page.redirect("/account/wishlist")
    return await render_list(page)


@router.get("/account/wishlist", response_class=HTMLResponse, response_model=None)
async def customer_lists(
    page: ShopPage, list_id: Annotated[int | None, Query(alias="list", ge=1, le=MAX_ID)] = None
) -> HTMLResponse | RedirectResponse:
    if page.customer is None:
        return sign_in_first(page)
    return await render_list(page, list_id=list_id)


@router.post("/wishlist/items/{item_id}/remove")
async def remove_item(item_id: IdPath, page: ShopPage) -> RedirectResponse:
    list_id = await wishlists.remove_item(page.session, page_owner(page), item_id)
    return page.redirect(_list_url(page, list_id))


@router.post("/wishlist/items/{item_id}/move", response_class=HTMLResponse)
async def move_to_cart(item_id: IdPath, page: ShopPage) -> HTMLResponse:
    """One of the item goes into the cart; a sold-out item stays on the list and the page says so."""
    try:
        message, _, list_id, made = await wishlists.move_to_cart(
            page.session, page.settings, page_owner(page), item_id, cart_token=guest_token(page)
        )
    except EmporiumError as exc:
        if exc.status_code == 404:
            raise
        return await render_list(page, status_code=exc.status_code, notice=exc.message, notice_kind="error")
    response = await render_list(page, list_id=list_id, notice=message)
    if made is not None:
        set_cart_cookie(response, page.settings, made)
    return response


# Shared lists -------------------------------------------------------------------------------------------


@router.get("/wishlist/shared/{token}", response_class=HTMLResponse)
async def shared_list(
    token: Annotated[str, Path(min_length=1, max_length=64)], page: ShopPage
) -> HTMLResponse:
    """Read-only: the list's name and items, nothing of its owner, and no buttons that change it."""
    shared, visibility = await wishlists.shared(page.session, page.settings, token)
    response = await page.render(
        SHARED_PAGE,
        title=shared.name,
        wishlist=shared,
        thumbs=await thumbnails(page, [item.product_id for item in shared.items]),
        indexable=visibility == schemas.Visibility.PUBLIC,
        canonical_url=page.settings.public_url.rstrip("/") + page.request.url.path,
    )
    # The link is the key: it must not leak to the sites the list links to.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
