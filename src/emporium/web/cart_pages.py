"""The cart page, adding to the cart, and the header's mini-cart.

Every change goes through the cart service, as the cart API does: a guest's cart is named by the same
HttpOnly ``cart_token`` cookie the API reads, a signed-in customer's by their account. A refusal the
service raises on adding (unknown variant, not for sale, not enough stock) escapes to the error page, so
the request's transaction is rolled back and no empty guest cart is left behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from emporium.accounts.schemas import Country
from emporium.cart import schemas
from emporium.cart.auth import set_token_cookie
from emporium.cart.schemas import MAX_LINE_QUANTITY
from emporium.cart.service import CART_TOKEN_COOKIE, carts, item_not_found
from emporium.catalog.media.service import image_urls, media
from emporium.core.errors import EmporiumError, ValidationFailed
from emporium.core.params import MAX_ID, IdPath
from emporium.pricing.service import pricing
from emporium.web.page import PageContext, ShopPage
from emporium.web.routing import page_router

if TYPE_CHECKING:
    from emporium.cart.models import Cart

router = page_router()

CART_PAGE = "web/cart/cart.html.j2"
THUMB = "thumb"
THUMB_SIDE = 200
_COUNT = re.compile(r"[0-9]{1,6}")
FormText = Annotated[str, Form(max_length=64)]


def guest_token(page: PageContext) -> str | None:
    """The browser's guest cart token; None for a signed-in customer (their cart is their account's)."""
    if page.customer is not None:
        return None
    token = page.request.cookies.get(CART_TOKEN_COOKIE)
    return token if token and len(token) <= 200 else None


def parse_count(text: str, field: str, *, low: int = 1, high: int = MAX_LINE_QUANTITY) -> int:
    """A whole number typed into a form, within bounds; anything else is a 422 naming the field."""
    value = text.strip()
    if not _COUNT.fullmatch(value) or not low <= int(value) <= high:
        raise ValidationFailed(
            f"Enter a whole number from {low} to {high}.",
            details=[{"field": field, "message": f"a whole number from {low} to {high}"}],
        )
    return int(value)


async def existing_cart(page: PageContext) -> Cart | None:
    user_id = page.customer.id if page.customer else None
    return await carts.find(page.session, page.settings, user_id=user_id, token=guest_token(page))


async def cart_for_change(page: PageContext) -> tuple[Cart, str | None]:
    user_id = page.customer.id if page.customer else None
    return await carts.get_or_create(page.session, page.settings, user_id=user_id, token=guest_token(page))


@dataclass(frozen=True)
class Thumb:
    url: str
    width: int
    height: int
    alt: str


async def thumbnails(page: PageContext, product_ids: list[int]) -> dict[int, Thumb]:
    """The first picture of each product at thumbnail size (one statement; none when the cart is empty)."""
    found = await media.first_images(page.session, product_ids)
    thumbs = {}
    for product_id, image in found.items():
        urls = image_urls(page.settings, image.files)
        url = urls.get(THUMB) or next(iter(urls.values()), None)
        if url is None:
            continue
        scale = min(1.0, THUMB_SIDE / max(image.width, image.height, 1))
        thumbs[product_id] = Thumb(
            url, max(1, round(image.width * scale)), max(1, round(image.height * scale)), image.alt_text
        )
    return thumbs


async def delivery_countries(page: PageContext) -> list[str]:
    """The countries the active shipping zones name, for the estimate's country picker."""
    return await pricing.delivery_countries(page.session)


async def render_cart(
    page: PageContext,
    *,
    country: str | None = None,
    shipping_method_id: int | None = None,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    coupon_code: str = "",
) -> HTMLResponse:
    cart = await existing_cart(page)
    user_id = page.customer.id if page.customer else None
    options: list[schemas.ShippingOptionRead] = []
    if country and cart is not None:
        options = await carts.shipping_options(page.session, page.settings, cart, country=country)
        if shipping_method_id is None and options:
            shipping_method_id = min(options, key=lambda o: o.price).id
    view = await carts.view(
        page.session,
        page.settings,
        cart,
        user_id=user_id,
        country=country,
        shipping_method_id=shipping_method_id,
    )
    context: dict[str, Any] = {
        "cart": view,
        "thumbs": await thumbnails(page, [line.product_id for line in view.items]),
        "countries": await delivery_countries(page) if view.items else [],
        "country": country or "",
        "shipping_options": options,
        "shipping_method_id": shipping_method_id,
        "errors": errors or {},
        "coupon_code": coupon_code,
        "max_quantity": MAX_LINE_QUANTITY,
    }
    return await page.render(CART_PAGE, status_code=status_code, title="Your cart", **context)


@router.get("/cart", response_class=HTMLResponse)
async def cart_page(
    page: ShopPage,
    country: Annotated[Country | None, Query(min_length=2, max_length=2)] = None,
    shipping_method_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    """The lines at today's prices with their notices, the coupon, and totals; with ``country`` the
    shipping methods serving it and an estimate of tax and shipping."""
    return await render_cart(page, country=country, shipping_method_id=shipping_method_id)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


@router.post("/cart/add", response_class=HTMLResponse, response_model=None)
async def add_to_cart(
    request: Request,
    page: ShopPage,
    variant_id: FormText = "",
    quantity: FormText = "1",
) -> HTMLResponse | RedirectResponse:
    """The product page's form. A plain post goes on to the cart; htmx gets the mini-cart back."""
    try:
        data = schemas.ItemAdd(
            variant_id=parse_count(variant_id, "variant_id", high=MAX_ID),
            quantity=parse_count(quantity, "quantity"),
        )
    except ValidationError as exc:  # cannot happen after parse_count; kept as the schema's last word
        raise ValidationFailed("Choose an option and a quantity.") from exc
    cart, new_token = await cart_for_change(page)
    await carts.add(page.session, cart, data)
    response: HTMLResponse | RedirectResponse
    if _is_htmx(request):
        user_id = page.customer.id if page.customer else None
        count = await carts.item_count(page.session, user_id=user_id, token=new_token or guest_token(page))
        response = await page.fragment("web/cart/mini_cart.html.j2", cart_count=count)
    else:
        response = page.redirect("/cart")
    if new_token is not None:
        # As the cart API hands it out (cart/auth.py).
        set_token_cookie(response, page.settings, new_token)
    return response


@router.post("/cart/items/{item_id}", response_class=HTMLResponse, response_model=None)
async def update_line(
    item_id: IdPath, page: ShopPage, quantity: FormText = ""
) -> HTMLResponse | RedirectResponse:
    """A new quantity for one line; a refusal (bad number, not enough stock) is shown by the line."""
    cart = await existing_cart(page)
    if cart is None:
        raise item_not_found()
    field = f"item-{item_id}"
    try:
        wanted = parse_count(quantity, "quantity")
        await carts.update(page.session, cart, item_id, schemas.ItemUpdate(quantity=wanted))
    except EmporiumError as exc:
        # The service refuses before it changes anything, so the page can simply be shown again.
        if exc.status_code == 404:
            raise
        return await render_cart(page, status_code=exc.status_code, errors={field: exc.message})
    return page.redirect("/cart")


@router.post("/cart/items/{item_id}/remove")
async def remove_line(item_id: IdPath, page: ShopPage) -> RedirectResponse:
    cart = await existing_cart(page)
    if cart is None:
        raise item_not_found()
    await carts.remove(page.session, cart, item_id)
    return page.redirect("/cart")


@router.post("/cart/coupon", response_class=HTMLResponse, response_model=None)
async def apply_coupon(page: ShopPage, code: FormText = "") -> HTMLResponse | RedirectResponse:
    """One coupon per cart: a new code replaces the old one; an unusable code is refused with the reason."""
    typed = code.strip()
    cart = await existing_cart(page)
    try:
        coupon = schemas.CouponIn(code=typed)
    except ValidationError:
        return await render_cart(
            page, status_code=422, errors={"coupon": "Enter a coupon code."}, coupon_code=typed
        )
    if cart is None:
        return await render_cart(
            page, status_code=422, errors={"coupon": "Add something to your cart first."}, coupon_code=typed
        )
    user_id = page.customer.id if page.customer else None
    try:
        await carts.apply_coupon(page.session, page.settings, cart, coupon.code, user_id=user_id)
    except EmporiumError as exc:
        # Checked before the cart is touched: nothing to undo.
        return await render_cart(
            page, status_code=exc.status_code, errors={"coupon": exc.message}, coupon_code=typed
        )
    return page.redirect("/cart")


@router.post("/cart/coupon/remove")
async def remove_coupon(page: ShopPage) -> RedirectResponse:
    cart = await existing_cart(page)
    if cart is not None:
        cart.coupon_code = None
    return page.redirect("/cart")
