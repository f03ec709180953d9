"""A customer's lists on /account/wishlist: create, rename, delete, share by link and stop sharing.

A refusal (an empty or too long name, the default list kept while others exist) shows the page again with
the reason; a list of another customer is a 404 like any list that does not exist. A new share link is
shown on the page that made it, once: only its digest is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from emporium.core.errors import EmporiumError
from emporium.core.params import IdPath
from emporium.web.account_pages import sign_in_first
from emporium.web.page import PageContext, ShopPage
from emporium.web.routing import page_router
from emporium.web.wishlist_pages import page_owner, render_list
from emporium.wishlists import schemas
from emporium.wishlists.service import wishlists

if TYPE_CHECKING:
    from emporium.wishlists.models import Wishlist

router = page_router(prefix="/account/wishlist/lists")

# Read whole and refused with a reason on the page (never cut short by the form parser).
NameText = Annotated[str, Form(max_length=10_000)]
ChoiceText = Annotated[str, Form(max_length=16)]
NAME_REFUSED = f"Give the list a name of 1 to {schemas.NAME_MAX} characters, on one line."


async def _list(page: PageContext, list_id: int) -> Wishlist:
    return await wishlists.owned_list(page.session, page_owner(page), list_id)


def _name(text: str) -> str | None:
    try:
        return schemas.ListCreate(name=text).name
    except ValidationError:
        return None


@router.post("", response_class=HTMLResponse, response_model=None)
async def create(page: ShopPage, name: NameText = "") -> HTMLResponse | RedirectResponse:
    if page.customer is None:
        return sign_in_first(page, "/account/wishlist")
    clean = _name(name)
    if clean is None:
        return await render_list(page, status_code=422, errors={"new-name": NAME_REFUSED})
    try:
        made = await wishlists.create_list(page.session, page.customer.id, clean)
    except EmporiumError as exc:
        return await render_list(page, status_code=exc.status_code, errors={"new-name": exc.message})
    return page.redirect(f"/account/wishlist?list={made.id}")


@router.post("/{list_id}/rename", response_class=HTMLResponse, response_model=None)
async def rename(list_id: IdPath, page: ShopPage, name: NameText = "") -> HTMLResponse | RedirectResponse:
    if page.customer is None:
        return sign_in_first(page, "/account/wishlist")
    wishlist = await _list(page, list_id)
    clean = _name(name)
    if clean is None:
        return await render_list(page, list_id=list_id, status_code=422, errors={"name": NAME_REFUSED})
    await wishlists.update_list(page.session, wishlist, schemas.ListUpdate(name=clean))
    return page.redirect(f"/account/wishlist?list={list_id}")


@router.post("/{list_id}/delete", response_class=HTMLResponse, response_model=None)
async def delete(list_id: IdPath, page: ShopPage) -> HTMLResponse | RedirectResponse:
    if page.customer is None:
        return sign_in_first(page, "/account/wishlist")
    wishlist = await _list(page, list_id)
    try:
        await wishlists.delete_list(page.session, wishlist)
    except EmporiumError as exc:
        return await render_list(
            page, list_id=list_id, status_code=exc.status_code, notice=exc.message, notice_kind="error"
        )
    return page.redirect("/account/wishlist")


@router.post("/{list_id}/share", response_class=HTMLResponse, response_model=None)
async def share(
    list_id: IdPath, page: ShopPage, visibility: ChoiceText = "link"
) -> HTMLResponse | RedirectResponse:
    if page.customer is None:
        return sign_in_first(page, "/account/wishlist")
    wishlist = await _list(page, list_id)
    chosen = "public" if visibility == "public" else "link"
    made = wishlists.share(page.settings, wishlist, chosen)
    return await render_list(
        page, list_id=list_id, share=made, notice="Anyone with this link can see the list. Copy it now."
    )


@router.post("/{list_id}/unshare", response_class=HTMLResponse, response_model=None)
async def unshare(list_id: IdPath, page: ShopPage) -> HTMLResponse | RedirectResponse:
    if page.customer is None:
        return sign_in_first(page, "/account/wishlist")
    wishlists.revoke(await _list(page, list_id))
    return page.redirect(f"/account/wishlist?list={list_id}")
