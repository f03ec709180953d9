"""The checkout's second step: "Review and pay", and "Place order".

The price shown is the price charged (DESIGN.md). The review page shows the server's quote for the address,
shipping method and cart, and its form carries that quote sealed (``checkout_state.seal_quote``). Changing
the shipping or payment method updates the totals at once through htmx, or through "Update the totals"
without script. "Place order" re-prices on the server: when the order would cost anything else than the
page showed (a radio changed after the totals, a price, a tax rate, a coupon that ran out, stock that ran
out, a shipping method withdrawn), nothing is placed and the review page comes back with the new totals,
the cart corrected where it had to be, and notices that say what changed.

Every post here stores what it was given in the checkout's cookie and redirects to ``GET /checkout/review``
(post/redirect/get), so the browser's Back and Reload always land on a page.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from emporium.cart.service import carts
from emporium.core.errors import EmporiumError, NotFound, ValidationFailed
from emporium.core.idempotency import IdempotencyKeyReused
from emporium.inventory.errors import InventoryError
from emporium.journeys.abandoned import abandoned_carts
from emporium.orders import limits, schemas
from emporium.orders.checkout import CartEmpty, CartNotPurchasable, checkout
from emporium.orders.errors import OrderError
from emporium.orders.seen_quote import PriceChanged, SeenQuote
from emporium.payments.service import payments
from emporium.pricing.errors import PricingError
from emporium.pricing.service import CouponNotApplicable, ShippingUnavailable
from emporium.web.cart_pages import existing_cart, guest_token
from emporium.web.checkout_pages import (
    _CHECKOUT_KEY,
    ADDRESS_FIELDS,
    CheckoutForm,
    _details_page,
    _has_lines,
    _keep_order_token,
    _methods,
    _order_input,
    _payable,
    _saved_addresses,
    _thanks,
    next_step,
)
from emporium.web.checkout_state import (
    CheckoutState,
    StateTooLarge,
    drop_state,
    keep_state,
    open_quote,
    read_state,
    seal_quote,
)
from emporium.web.errors import PageError
from emporium.web.page import PageContext, ShopPage
from emporium.web.routing import page_router

if TYPE_CHECKING:
    from emporium.cart.models import Cart

router = page_router()

REVIEW = "/checkout/review"
TOO_LONG = "Some of the details are too long to keep. Shorten the address or the name and try again."


def _form_of(state: CheckoutState) -> CheckoutForm:
    return CheckoutForm(
        contact=dict(state.contact),
        address={name: state.address.get(name, "") for name in ADDRESS_FIELDS},
        address_id=state.address_id,
        shipping_method_id=state.shipping_method_id,
        payment_method=state.payment_method,
    )


def _state_of(form: CheckoutForm) -> CheckoutState:
    return CheckoutState(
        contact=dict(form.contact),
        address={k: v for k, v in form.address.items() if v},
        address_id=form.address_id,
        shipping_method_id=form.shipping_method_id,
        payment_method=form.payment_method,
    )


def _back_to_review(page: PageContext, state: CheckoutState) -> RedirectResponse:
    response = page.redirect(REVIEW)
    try:
        keep_state(page.settings, response, state)
    except StateTooLarge:
        state.address, state.notices = {}, [TOO_LONG]
        keep_state(page.settings, response, state)
    return response


async def _cart_with_lines(page: PageContext) -> Cart | None:
    """The shopper's cart when it holds something to buy."""
    cart = await existing_cart(page)
    return cart if cart is not None and await _has_lines(page, cart) else None


# The page ------------------------------------------------------------------------------------------------


async def _where(
    page: PageContext, data: schemas.OrderCreate
) -> tuple[dict[str, Any], str, str | None] | None:
    """The delivery address the review shows, its country and region; None for an unknown saved address."""
    if data.shipping_address is not None:
        address = data.shipping_address.model_dump()
        return address, data.shipping_address.country, data.shipping_address.region
    saved = {a.id: a for a in await _saved_addresses(page)}
    chosen = saved.get(data.address_id or 0)
    if chosen is None:
        return None
    return {name: getattr(chosen, name) for name in ADDRESS_FIELDS}, chosen.country, chosen.region


async def _review_context(
    page: PageContext, cart: Cart, form: CheckoutForm, data: schemas.OrderCreate
) -> dict[str, Any] | None:
    """What the review page (and its totals fragment) shows; None with ``form.errors`` set when the details
    cannot be reviewed (an unknown saved address, a country the shop does not deliver to)."""
    where = await _where(page, data)
    if where is None:
        form.errors["address_id"] = "Choose one of your addresses or enter a new one."
        return None
    address, country, region = where
    options = await carts.shipping_options(page.session, page.settings, cart, country=country)
    if not options:
        form.errors["address_country"] = f"We do not deliver to {country} yet."
        return None
    chosen = next((o for o in options if str(o.id) == form.shipping_method_id), None) or min(
        options, key=lambda o: o.price
    )
    form.shipping_method_id = str(chosen.id)
    methods = _methods(page)
    if form.payment_method not in {m["code"] for m in methods}:
        form.payment_method = methods[0]["code"] if methods else ""
    view = await carts.view(
        page.session,
        page.settings,
        cart,
        user_id=page.customer.id if page.customer else None,
        country=country,
        region=region,
        shipping_method_id=chosen.id,
    )
    if not _CHECKOUT_KEY.fullmatch(form.checkout_key):
        form.checkout_key = secrets.token_urlsafe(32)
    return {
        "form": form,
        "cart": view,
        "shipping_options": options,
        "shipping_method_id": chosen.id,
        "payment_methods": methods,
        "address": address,
        "sealed_quote": seal_quote(page.settings, SeenQuote.of(view, chosen.id)),
    }


@router.get(REVIEW, response_class=HTMLResponse, response_model=None)
async def review_page(page: ShopPage) -> HTMLResponse | RedirectResponse:
    """The second step, from the details and choices the checkout's cookie holds."""
    state = read_state(page.settings, page.request)
    cart = await _cart_with_lines(page)
    if cart is None:
        return page.redirect("/cart")
    if state is None:
        return page.redirect("/checkout")
    form = _form_of(state)
    data = _order_input(form, page, for_review=True)
    context = await _review_context(page, cart, form, data) if data is not None else None
    if context is None:
        return await _details_page(page, form, status_code=422)
    form.errors.update(state.errors)
    response = await page.render(
        "web/checkout/review.html.j2", title="Review your order", notices=state.notices, **context
    )
    if state.notices or state.errors:
        # Told once: a reload shows the page without them.
        state.notices, state.errors = [], {}
        keep_state(page.settings, response, state)
    return response


@router.post(REVIEW, response_class=HTMLResponse, response_model=None)
async def review(request: Request, page: ShopPage) -> HTMLResponse | RedirectResponse:
    """The first step's form: checked, kept, and on to the review."""
    form = await CheckoutForm.read(request)
    cart = await _cart_with_lines(page)
    if cart is None:
        return page.redirect("/cart")
    data = _order_input(form, page, for_review=True)
    if data is not None and await _where(page, data) is None:
        form.errors["address_id"] = "Choose one of your addresses or enter a new one."
    if data is None or form.errors:
        return await _details_page(page, form, status_code=422)
    if data.guest is not None:  # kept with the cart, to remind the guest should they leave it
        await abandoned_carts.remember_guest_email(page.session, cart.id, str(data.guest.email))
    kept = read_state(page.settings, page.request)
    state = _state_of(form)
    if kept is not None:  # back from "Change the details": the review's choices stay
        state.shipping_method_id, state.payment_method = kept.shipping_method_id, kept.payment_method
    response = page.redirect(REVIEW)
    try:
        keep_state(page.settings, response, state)
    except StateTooLarge:
        form.errors["form"] = TOO_LONG
        return await _details_page(page, form, status_code=422)
    return response


def _chosen(form: CheckoutForm, state: CheckoutState) -> CheckoutState:
    state.shipping_method_id = form.shipping_method_id or state.shipping_method_id
    state.payment_method = form.payment_method or state.payment_method
    return state


@router.post("/checkout/review/choices", response_class=HTMLResponse, response_model=None)
async def update_choices(request: Request, page: ShopPage) -> Response:
    """A changed shipping or payment method. htmx gets the order summary with the new totals (and the quote
    its "Place order" will carry); a form post without script comes back to the review page."""
    state = read_state(page.settings, page.request)
    if state is None:
        return page.redirect("/checkout")
    state = _chosen(await CheckoutForm.read(request), state)
    if request.headers.get("HX-Request") != "true":
        return _back_to_review(page, state)
    form = _form_of(state)
    data = _order_input(form, page, for_review=True)
    cart = await _cart_with_lines(page)
    context = await _review_context(page, cart, form, data) if data is not None and cart else None
    if context is None:
        # The details no longer hold (the cart was emptied elsewhere): the whole page says why.
        return Response(status_code=200, headers={"HX-Redirect": REVIEW, "Cache-Control": "no-store"})
    response = await page.fragment("web/checkout/review_summary.html.j2", **context)
    keep_state(page.settings, response, state)
    return response


# Placing the order ---------------------------------------------------------------------------------------


@router.post("/checkout/place", response_class=HTMLResponse, response_model=None)
async def place(request: Request, page: ShopPage) -> HTMLResponse | RedirectResponse:
    form = await CheckoutForm.read(request)
    if not _CHECKOUT_KEY.fullmatch(form.checkout_key):
        raise NotFound(
            "This checkout form has expired. Start the checkout again.", code=PageError.CHECKOUT_EXPIRED
        )
    state = read_state(page.settings, page.request)
    if state is None:
        # The checkout's details went with its order: a form sent again finds that order.
        order = await checkout.already_placed(
            page.session, user=page.customer, cart_token=guest_token(page), idempotency_key=form.checkout_key
        )
        return await _placed(page, order, form.checkout_key) if order else page.redirect("/checkout")
    state = _chosen(form, state)
    details = _form_of(state)
    data = _order_input(details, page, for_review=False)
    if data is None:
        return await _details_page(page, details, status_code=422)
    shown = open_quote(page.settings, form.quote)
    if shown is None:
        state.notices = ["Check the total below, then place your order."]
        return _back_to_review(page, state)
    try:
        client = limits.client_address(request)
        if page.customer is None:
            await limits.limit_guest_checkout(page.ctx, client, data.guest.phone if data.guest else None)
        # A refusal rolls back everything the attempt wrote (its idempotency key included), so the
        # corrections below and the next attempt start clean.
        async with page.session.begin_nested():
            placed = await checkout.place(
                page.session,
                page.settings,
                data,
                user=page.customer,
                cart_token=guest_token(page),
                idempotency_key=form.checkout_key,
                shown=shown,
                client_address=client,
            )
    except IdempotencyKeyReused as exc:
        raise IdempotencyKeyReused(
            "This checkout form was already used for another order. Start the checkout again."
        ) from exc
    except CartEmpty:
        return page.redirect("/cart")
    except EmporiumError as exc:
        state.notices, state.errors = await _refusal(page, exc)
        return _back_to_review(page, state)
    return await _placed(page, placed.order, form.checkout_key)


async def _refusal(page: PageContext, exc: EmporiumError) -> tuple[list[str], dict[str, str]]:
    """What the review page says after a refused "Place order", the cart corrected where it must be: the
    notices, and errors next to the part concerned."""
    cart = await existing_cart(page)
    if isinstance(exc, PriceChanged):
        return ["Your order was not placed: the total changed.", *exc.changes], {}
    if isinstance(exc, CouponNotApplicable):
        told = await carts.correct(page.session, cart, drop_coupon=True) if cart is not None else []
        return [f"Your order was not placed: {exc.message}", *told, "Check the new total."], {}
    if isinstance(exc, CartNotPurchasable) or exc.code == InventoryError.INSUFFICIENT_STOCK:
        told = await carts.correct(page.session, cart, drop_coupon=False) if cart is not None else []
        return ["Your order was not placed: some items ran out.", *told, "Check the new total."], {}
    if isinstance(exc, ShippingUnavailable) or exc.code == PricingError.SHIPPING_METHOD_UNAVAILABLE:
        message = "This shipping method is no longer offered for your address. Choose another one."
        return ["Your order was not placed: the shipping method changed."], {"shipping_method_id": message}
    if exc.code == OrderError.PAYMENT_METHOD_UNAVAILABLE:
        message = "This way to pay is no longer offered. Choose another one."
        return ["Your order was not placed."], {"payment_method": message}
    if isinstance(exc, ValidationFailed) or exc.status_code in (404, 409, 422):
        return [f"Your order was not placed: {exc.message}"], {}
    raise exc


async def _placed(page: PageContext, order: Any, checkout_key: str) -> RedirectResponse:
    response: RedirectResponse
    if order.payment_method in {m["code"] for m in _methods(page) if m["online"]} and _payable(order):
        locked = await payments.lock_order(page.session, order.id)
        payment = await payments.start(page.session, page.settings, locked, idempotency_key=checkout_key)
        response = page.redirect(next_step(payment, _thanks(order)))
    else:
        response = page.redirect(_thanks(order))
    if order.user_id is None:
        _keep_order_token(page, response, order)
    drop_state(page.settings, response)
    return response
