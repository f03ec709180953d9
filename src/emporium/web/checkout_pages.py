"""Checkout, the order confirmation, paying again after a decline, and order tracking.

Checkout has two steps that work without any script: the contact and address form here, then the review
(``checkout_review``: shipping and payment method, the server's totals, "Place order"). What the first step
was given is kept in the checkout's cookie (``checkout_state``), so coming back to it finds it filled in.
"Place order" uses the review's one-time key as its Idempotency-Key, so a double click replays the first
order instead of placing a second. A guest's key to their order (the service's order access token) is kept in
an HttpOnly cookie; the confirmation is shown only to the signed-in owner or to that cookie's holder.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from emporium.accounts.profile import profiles
from emporium.accounts.schemas import PHONE_REGION
from emporium.cart.service import carts
from emporium.core.errors import NotFound
from emporium.core.messages import FIELD_MESSAGES, field_name, human_message
from emporium.core.params import MAX_ID, PLAIN_TEXT_PATTERN, IdPath
from emporium.core.phones import TYPED_PHONE
from emporium.orders import schemas
from emporium.orders.auth import may_reach, order_access_token
from emporium.orders.names import payment_method_name
from emporium.orders.schemas import PaymentStatus
from emporium.orders.service import order_not_found, orders
from emporium.orders.tracking import track_limited
from emporium.payments.config import PaymentSettings
from emporium.payments.fetch import fetch
from emporium.payments.gateways.registry import enabled
from emporium.payments.service import payments
from emporium.web.cart_pages import existing_cart
from emporium.web.checkout_state import MAX_SEALED_QUOTE, read_state
from emporium.web.page import PageContext, ShopPage
from emporium.web.places import country_choices, home_country
from emporium.web.routing import page_router
from emporium.web.security import secure_cookies

if TYPE_CHECKING:
    from emporium.orders.models import Order

router = page_router()

ORDERS_COOKIE = "shop_orders"
ORDERS_KEPT = 5
ORDER_COOKIE_MAX_AGE = 90 * 86400
_ORDER_PAIR = re.compile(r"([1-9][0-9]{0,17})\.([0-9a-f]{64})")
_CHECKOUT_KEY = re.compile(r"[A-Za-z0-9_-]{32,64}")
_NUMBER = re.compile(r"[A-Za-z0-9-]{5,32}")
ADDRESS_FIELDS = ("full_name", "phone", "line1", "line2", "city", "region", "postal_code", "country")
CONTACT_FIELDS = ("name", "phone", "email")
Text = Annotated[str, Form(max_length=320)]
NumberPath = Annotated[str, Path(min_length=5, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]


# The form ---------------------------------------------------------------------------------------------


@dataclass
class CheckoutForm:
    """What the shopper typed, kept as typed so a refused form comes back filled in."""

    contact: dict[str, str]
    address: dict[str, str]
    address_id: str = ""
    shipping_method_id: str = ""
    payment_method: str = ""
    checkout_key: str = ""
    # The review's sealed quote (checkout_state.seal_quote).
    quote: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def read(cls, request: Request) -> CheckoutForm:
        form = await request.form()

        def text(name: str, limit: int = 320) -> str:
            value = form.get(name)
            return value.strip()[:limit] if isinstance(value, str) else ""

        return cls(
            contact={name: text(f"contact_{name}") for name in CONTACT_FIELDS},
            address={name: text(f"address_{name}", 255) for name in ADDRESS_FIELDS},
            address_id=text("address_id", 20),
            shipping_method_id=text("shipping_method_id", 20),
            payment_method=text("payment_method", 32),
            checkout_key=text("checkout_key", 64),
            quote=text("quote", MAX_SEALED_QUOTE),
        )


def _field_errors(exc: ValidationError, prefix: str) -> dict[str, str]:
    """One sentence per field, from the shop's table of messages (never the validator's own text)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = field_name(error["loc"])
        errors.setdefault(f"{prefix}{name}" if name != "form" else name, human_message(name, error))
    return errors


def _guest_contact(form: CheckoutForm) -> schemas.GuestContact | None:
    """A guest's name, phone and e-mail, or None with ``form.errors`` filled in."""
    if not form.address["full_name"] and form.address_id in ("", "new"):
        # Typed once: without the page's script the recipient is the contact unless told otherwise.
        form.address["full_name"] = form.contact["name"]
    # A number without its country code is read in the delivery country.
    context = {PHONE_REGION: form.address["country"].upper()} if form.address["country"] else {}
    try:
        guest = schemas.GuestContact.model_validate(form.contact, context=context)
    except ValidationError as exc:
        form.errors.update(_field_errors(exc, "contact_"))
        return None
    form.contact["phone"] = guest.phone  # carried on (and shown) as it is stored: E.164
    return guest


def _saved_address_id(form: CheckoutForm) -> int | None:
    """The id of the customer's saved address the form names, or None with ``form.errors`` filled in."""
    if form.address_id.isdigit() and 1 <= int(form.address_id) <= MAX_ID:
        return int(form.address_id)
    form.errors["address_id"] = "Choose one of your addresses or enter a new one."
    return None


def _typed_address(form: CheckoutForm, guest_phone: str | None) -> schemas.AddressIn | None:
    """The address typed into the form (a guest's phone when the address has none), or None with
    ``form.errors`` filled in."""
    values = {k: v for k, v in form.address.items() if v}
    if "phone" not in values and guest_phone is not None:
        values["phone"] = guest_phone
    try:
        return schemas.AddressIn(**values)
    except ValidationError as exc:
        form.errors.update(_field_errors(exc, "address_"))
        return None


def _shipping_method_id(form: CheckoutForm, *, for_review: bool) -> int | None:
    """The chosen shipping method; required (else an error in ``form.errors``) once past the review."""
    method_id = int(form.shipping_method_id) if form.shipping_method_id.isdigit() else None
    if not for_review and (method_id is None or not 1 <= method_id <= MAX_ID):
        form.errors["shipping_method_id"] = "Choose a shipping method."
    return method_id


def _order_input(form: CheckoutForm, page: PageContext, *, for_review: bool) -> schemas.OrderCreate | None:
    """The order the form describes, or None with ``form.errors`` filled in. On the first step the
    shipping and payment methods are not chosen yet."""
    guest = _guest_contact(form) if page.customer is None else None
    address_id: int | None = None
    address = None
    if page.customer is not None and form.address_id not in ("", "new"):
        address_id = _saved_address_id(form)
    else:
        address = _typed_address(form, guest.phone if guest is not None else None)
    method_id = _shipping_method_id(form, for_review=for_review)
    if form.errors:
        return None
    try:
        return schemas.OrderCreate(
            address_id=address_id,
            shipping_address=address,
            shipping_method_id=method_id or 1,
            payment_method=form.payment_method or "none",
            guest=guest,
        )
    except ValidationError as exc:
        form.errors.update(_field_errors(exc, ""))
        return None


async def _saved_addresses(page: PageContext) -> list[Any]:
    return list(await profiles.addresses(page.session, page.customer)) if page.customer else []


async def _details_page(page: PageContext, form: CheckoutForm, *, status_code: int = 200) -> HTMLResponse:
    addresses = await _saved_addresses(page)
    if page.customer is not None and not form.address_id:
        default = next((a for a in addresses if a.is_default), addresses[0] if addresses else None)
        form.address_id = str(default.id) if default is not None else "new"
    if not form.address["country"]:
        form.address["country"] = await home_country(page)
    cart = await existing_cart(page)
    summary = await carts.view(
        page.session, page.settings, cart, user_id=page.customer.id if page.customer else None
    )
    return await page.render(
        "web/checkout/details.html.j2",
        status_code=status_code,
        title="Checkout",
        form=form,
        addresses=addresses,
        countries=country_choices(page),
        cart=summary,
    )


def _methods(page: PageContext) -> list[dict[str, Any]]:
    """The enabled gateways, as ``GET /payments/methods`` lists them."""
    instructions = page.settings.part(PaymentSettings).bank_transfer_instructions
    return [
        {
            "code": g.name,
            "title": g.title,
            "online": g.online,
            "instructions": instructions if g.name == "bank_transfer" else None,
        }
        for g in enabled(page.settings)
    ]


# Routes: checkout --------------------------------------------------------------------------------------


@router.get("/checkout", response_class=HTMLResponse, response_model=None)
async def checkout_page(page: ShopPage) -> HTMLResponse | RedirectResponse:
    cart = await existing_cart(page)
    if cart is None or not await _has_lines(page, cart):
        return page.redirect("/cart")
    form = CheckoutForm(contact=dict.fromkeys(CONTACT_FIELDS, ""), address=dict.fromkeys(ADDRESS_FIELDS, ""))
    kept = read_state(page.settings, page.request)
    if kept is not None:  # back from the review: what was typed is still there
        form.contact.update(kept.contact)
        form.address.update(kept.address)
        form.address_id = kept.address_id
    return await _details_page(page, form)


async def _has_lines(page: PageContext, cart: Any) -> bool:
    return bool((await carts.check(page.session, cart)).lines)


def next_step(payment: Any, otherwise: str) -> str:
    """Where a started payment sends the shopper: the gateway's page when it has one, else ``otherwise``."""
    action = (payment.details or {}).get("next_action") or {}
    target = action.get("url") if isinstance(action, dict) else None
    return target if isinstance(target, str) else otherwise


def _payable(order: Order) -> bool:
    return PaymentStatus(order.payment_status) in (PaymentStatus.AWAITING, PaymentStatus.FAILED)


def _thanks(order: Order) -> str:
    return f"/orders/{order.number}/thanks"


def _failed(order: Order) -> str:
    return f"/orders/{order.number}/payment-failed"


def _open(payment: Any) -> bool:
    """A payment the gateway has not answered yet (a first one, or another try after a decline)."""
    return payment is not None and payment.state in ("requires_action", "processing")


def _shows_failure(order: Order, payment: Any) -> bool:
    """The last try failed and no other is under way."""
    return order.payment_status == PaymentStatus.FAILED and not _open(payment)


def _after_payment(order: Order, payment: Any) -> str:
    """The page titled for what became of the payment so far."""
    return _failed(order) if _shows_failure(order, payment) else _thanks(order)


async def _last_payment(page: PageContext, order: Order) -> Any:
    return await fetch.last_payment(page.session, order.id)


# A guest's orders: the service's access tokens in one HttpOnly cookie -----------------------------------


def _order_tokens(page: PageContext) -> dict[int, str]:
    raw = page.request.cookies.get(ORDERS_COOKIE, "")[:2000]
    pairs = (_ORDER_PAIR.fullmatch(part) for part in raw.split("~"))
    return {int(found.group(1)): found.group(2) for found in pairs if found}


def _keep_order_token(page: PageContext, response: RedirectResponse, order: Order) -> None:
    kept = _order_tokens(page)
    kept.pop(order.id, None)
    kept[order.id] = order_access_token(page.settings, order)
    recent = list(kept.items())[-ORDERS_KEPT:]
    response.set_cookie(
        ORDERS_COOKIE,
        "~".join(f"{order_id}.{token}" for order_id, token in recent),
        max_age=ORDER_COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(page.settings),
    )


def _reaches(page: PageContext, order: Order | None) -> bool:
    """The orders API's rule: the signed-in owner, or a guest holding the order's access token."""
    customer, signed_in = page.customer, page.browser.session is not None
    user_id = customer.id if customer is not None and signed_in else None
    token = _order_tokens(page).get(order.id) if order is not None else None
    return may_reach(page.settings, order, user_id, token)


async def _own_order(page: PageContext, number: str) -> Order:
    order = await orders.order_by_number(page.session, number.upper())
    if not _reaches(page, order):
        raise order_not_found()
    assert order is not None
    return order


# Routes: after the order -------------------------------------------------------------------------------


@router.get("/orders/{order_id}/paid")
async def payment_return(order_id: IdPath, page: ShopPage) -> RedirectResponse:
    """Where the payment page sends the shopper back (by order id, as the payments service builds it).
    A GET changes nothing: the gateway's webhook job records the outcome, and the confirmation's status
    block asks again until it has, then turns into the page for that outcome."""
    order = await orders.order(page.session, order_id)
    if not _reaches(page, order):
        raise order_not_found()
    assert order is not None
    return page.redirect(_after_payment(order, await _last_payment(page, order)))


async def _order_context(page: PageContext, order: Order) -> dict[str, Any]:
    payment = await _last_payment(page, order)
    methods = {m["code"]: m for m in _methods(page)}
    method = methods.get(order.payment_method)
    online = bool(method and method["online"])
    return {
        "order": await orders.read(page.session, order),
        "payment": payment,
        "method_title": method["title"] if method else payment_method_name(order.payment_method),
        "instructions": method["instructions"] if method else None,
        "online": online,
        "can_pay": online and order.status == "pending" and _payable(order),
        # An online payment the gateway has not answered yet: the status block asks again by itself.
        "waiting": online and _payable(order) and _open(payment),
    }


@router.get("/orders/{number}/thanks", response_class=HTMLResponse, response_model=None)
async def thanks(number: NumberPath, page: ShopPage) -> HTMLResponse | RedirectResponse:
    order = await _own_order(page, number)
    context = await _order_context(page, order)
    if _shows_failure(order, context["payment"]):
        return page.redirect(_failed(order))
    return await page.render("web/checkout/thanks.html.j2", title=f"Order {order.number}", **context)


@router.get("/orders/{number}/payment-failed", response_class=HTMLResponse, response_model=None)
async def payment_failed(number: NumberPath, page: ShopPage) -> HTMLResponse | RedirectResponse:
    """A declined or failed payment: the reason, another try, or another way to pay."""
    order = await _own_order(page, number)
    context = await _order_context(page, order)
    payment = context["payment"]
    if not _shows_failure(order, payment):
        return page.redirect(_thanks(order))
    others = [m for m in _methods(page) if m["code"] != order.payment_method]
    return await page.render(
        "web/checkout/payment_failed.html.j2",
        title="Your payment didn't go through",
        reason=payment.error if payment is not None and payment.error else None,
        other_methods=others if order.status == "pending" else [],
        **context,
    )


@router.get("/orders/{number}/status", response_class=HTMLResponse)
async def order_status(number: NumberPath, page: ShopPage) -> HTMLResponse:
    """The confirmation's status block, which polls itself while a payment is being confirmed. Once the
    outcome is known, htmx is sent to the page titled for it (a failure is never shown under "Thank you")."""
    order = await _own_order(page, number)
    context = await _order_context(page, order)
    response = await page.fragment("web/checkout/status.html.j2", **context)
    if page.request.headers.get("HX-Request") == "true" and not context["waiting"]:
        response.headers["HX-Redirect"] = _after_payment(order, context["payment"])
    return response


@router.post("/orders/{number}/pay")
async def pay_again(number: NumberPath, page: ShopPage) -> RedirectResponse:
    """After a declined card: a new payment of the same order (it and its reserved stock are kept)."""
    order = await _own_order(page, number)
    locked = await payments.lock_order(page.session, order.id)
    payment = await payments.start(page.session, page.settings, locked, idempotency_key=secrets.token_hex(8))
    return page.redirect(next_step(payment, _thanks(order)))


@router.post("/orders/{number}/payment-method")
async def pay_another_way(
    number: NumberPath,
    page: ShopPage,
    payment_method: Annotated[str, Form(min_length=1, max_length=32)],
) -> RedirectResponse:
    """After a declined card: the same order (and its reserved stock) paid with another enabled method;
    an online one opens its payment at once."""
    order = await _own_order(page, number)
    locked = await payments.lock_order(page.session, order.id)
    actor = page.customer.id if page.customer is not None else None
    await payments.change_method(page.session, page.settings, locked, payment_method, actor_user_id=actor)
    if not any(m["code"] == locked.payment_method and m["online"] for m in _methods(page)):
        return page.redirect(_thanks(locked))
    payment = await payments.start(page.session, page.settings, locked, idempotency_key=secrets.token_hex(8))
    return page.redirect(next_step(payment, _after_payment(locked, payment)))


# Routes: tracking --------------------------------------------------------------------------------------


@router.get("/orders/track")
async def track_alias(page: ShopPage) -> RedirectResponse:
    return page.redirect("/track")


@router.get("/track", response_class=HTMLResponse)
async def track(
    request: Request,
    page: ShopPage,
    order_number: Annotated[str, Query(max_length=64)] = "",
    contact: Annotated[str, Query(max_length=320)] = "",
) -> HTMLResponse:
    """A guest follows an order by its number and the phone or e-mail given at checkout; rate limited
    per address like the API. A wrong number and a wrong contact give the same answer."""
    number, given = order_number.strip(), contact.strip()
    values = {"order_number": number, "contact": given}
    if not given and (not number or _NUMBER.fullmatch(number)):
        # A bare form, or the confirmation's link with the number filled in.
        return await page.render("web/checkout/track.html.j2", title="Track an order", values=values)
    errors: dict[str, str] = {}
    if not _NUMBER.fullmatch(number):
        errors["order_number"] = FIELD_MESSAGES["order_number"]
    is_email = "@" in given
    if is_email and not (3 <= len(given) <= 320 and re.fullmatch(PLAIN_TEXT_PATTERN, given)):
        errors["contact"] = FIELD_MESSAGES["contact"]
    if not is_email and not TYPED_PHONE.fullmatch(given):
        errors["contact"] = FIELD_MESSAGES["contact"]
    if errors:
        return await page.render(
            "web/checkout/track.html.j2",
            status_code=422,
            title="Track an order",
            values=values,
            errors=errors,
        )
    try:
        found = await track_limited(
            page.session,
            page.ctx,
            request.client.host if request.client else "unknown",
            number,
            phone=None if is_email else given,
            email=given if is_email else None,
        )
    except NotFound:
        return await page.render(
            "web/checkout/track.html.j2",
            status_code=404,
            title="Track an order",
            values=values,
            not_found=True,
        )
    return await page.render(
        "web/checkout/track.html.j2", title="Track an order", values=values, tracked=found
    )
