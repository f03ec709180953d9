"""The signed-in customer's address book and order history: addresses (add, edit, delete, default), orders
with their timeline and figures that add up, the invoice PDF, "Cancel order" while the order state machine
allows it, and "order again", which puts an order's lines back in the cart.

Objects are reached as the API reaches them: an address through the profile service (another customer's
id is not found), an order only when it is the customer's own (another's is a 404, as in the API).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from emporium.accounts import schemas
from emporium.accounts.profile import profiles
from emporium.cart.schemas import ItemAdd
from emporium.cart.service import carts
from emporium.catalog.names import line_name
from emporium.core.address_format import address_lines
from emporium.core.errors import NotFound
from emporium.core.money import from_minor
from emporium.core.pagination import PageParams
from emporium.core.params import IdPath
from emporium.orders.auth import reachable_order
from emporium.orders.invoice import tax_rate_label
from emporium.orders.invoicing import has_document
from emporium.orders.lifecycle import CUSTOMER_CANCELLABLE, IllegalTransition
from emporium.orders.names import payment_method_name, payment_status_name
from emporium.orders.schemas import OrderFilters, OrderStatus
from emporium.orders.service import orders
from emporium.web.account_pages import field_errors, form_values, optional, sign_in_first
from emporium.web.errors import PageError
from emporium.web.page import NO_STORE, PageContext, ShopPage
from emporium.web.places import country_choices, home_country
from emporium.web.routing import page_router

if TYPE_CHECKING:
    from emporium.accounts.models import Address, User
    from emporium.orders.models import Order

router = page_router(prefix="/account")

ORDERS_PER_PAGE = 10
PageNumber = Annotated[int, Query(alias="page", ge=1, le=1_000_000)]
# What "order again" reports back to the order page: how many lines went in, which lines were left out.
Reordered = Annotated[int | None, Query(ge=0, le=10_000)]
Skipped = Annotated[str | None, Query(max_length=2000, pattern=r"^[1-9][0-9]{0,18}(,[1-9][0-9]{0,18})*$")]


# Addresses -----------------------------------------------------------------------------------------------

ADDRESS_FORM = "web/account/address_form.html.j2"
REQUIRED = ("full_name", "line1", "city", "postal_code", "country")
OPTIONAL = ("label", "phone", "line2", "region")
ADDRESS_FIELDS = REQUIRED + OPTIONAL + ("is_default",)


def _address_values(address: Address | None) -> dict[str, str]:
    if address is None:
        return dict.fromkeys(ADDRESS_FIELDS, "")
    values = {name: getattr(address, name) or "" for name in REQUIRED + OPTIONAL}
    values["is_default"] = "on" if address.is_default else ""
    return values


def _address_payload(values: dict[str, str]) -> dict[str, object]:
    payload: dict[str, object] = {name: values[name] for name in REQUIRED}
    payload.update({name: optional(values[name]) for name in OPTIONAL})
    payload["is_default"] = values["is_default"] == "on"
    return payload


async def _address_form(
    page: PageContext,
    *,
    address_id: int | None,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    if not values["country"]:
        values["country"] = await home_country(page)
    return await page.render(
        ADDRESS_FORM,
        status_code=status_code,
        title="Edit the address" if address_id else "Add an address",
        section="addresses",
        address_id=address_id,
        values=values,
        errors=errors,
        countries=country_choices(page),
    )


@router.get("/addresses", response_class=HTMLResponse, response_model=None)
async def addresses_page(
    page: ShopPage, saved: Annotated[bool, Query()] = False
) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page)
    return await page.render(
        "web/account/addresses.html.j2",
        title="Your addresses",
        section="addresses",
        addresses=await profiles.addresses(page.session, customer),
        saved=saved,
    )


@router.get("/addresses/new", response_class=HTMLResponse, response_model=None)
async def new_address_page(page: ShopPage) -> HTMLResponse | RedirectResponse:
    if page.customer is None:
        return sign_in_first(page)
    return await _address_form(page, address_id=None, values=_address_values(None), errors={})


@router.post("/addresses", response_class=HTMLResponse, response_model=None)
async def add_address(request: Request, page: ShopPage) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page, "/account/addresses/new")
    values = await form_values(request, ADDRESS_FIELDS)
    try:
        data = schemas.AddressCreate.model_validate(_address_payload(values))
    except ValidationError as exc:
        return await _address_form(
            page, address_id=None, values=values, errors=field_errors(exc), status_code=422
        )
    await profiles.add_address(page.session, customer, data)
    return page.redirect("/account/addresses?saved=1")


@router.get("/addresses/{address_id}/edit", response_class=HTMLResponse, response_model=None)
async def edit_address_page(address_id: IdPath, page: ShopPage) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page)
    address = await profiles.address(page.session, customer, address_id)
    return await _address_form(page, address_id=address.id, values=_address_values(address), errors={})


@router.post("/addresses/{address_id}", response_class=HTMLResponse, response_model=None)
async def update_address(
    address_id: IdPath, request: Request, page: ShopPage
) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page, "/account/addresses")
    # Not found before anything else: another customer's address is not even validated against.
    await profiles.address(page.session, customer, address_id)
    values = await form_values(request, ADDRESS_FIELDS)
    try:
        data = schemas.AddressUpdate.model_validate(_address_payload(values))
    except ValidationError as exc:
        return await _address_form(
            page, address_id=address_id, values=values, errors=field_errors(exc), status_code=422
        )
    await profiles.update_address(page.session, customer, address_id, data)
    return page.redirect("/account/addresses?saved=1")


@router.post("/addresses/{address_id}/default", response_model=None)
async def make_default_address(address_id: IdPath, page: ShopPage) -> RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page, "/account/addresses")
    await profiles.update_address(page.session, customer, address_id, schemas.AddressUpdate(is_default=True))
    return page.redirect("/account/addresses?saved=1")


@router.post("/addresses/{address_id}/delete", response_model=None)
async def delete_address(address_id: IdPath, page: ShopPage) -> RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page, "/account/addresses")
    await profiles.delete_address(page.session, customer, address_id)
    return page.redirect("/account/addresses?saved=1")


# Orders --------------------------------------------------------------------------------------------------


async def own_order(page: PageContext, customer: User, order_id: int, *, lock: bool = False) -> Order:
    """The customer's own order (orders/auth.py, as the API reaches it); any other id, someone else's
    included, is not found."""
    return await reachable_order(
        page.session, page.settings, order_id, user_id=customer.id, token=None, lock=lock
    )


def cancel_refusal(status: str) -> str:
    """Why an order in ``status`` can no longer be cancelled, and what the customer can do instead."""
    if status == OrderStatus.SHIPPED:
        return (
            "This order has already been shipped, so it can no longer be cancelled. "
            "Once it arrives, you can return it."
        )
    if status == OrderStatus.DELIVERED:
        return "This order has been delivered, so it can no longer be cancelled. You can return it instead."
    if status == OrderStatus.CANCELLED:
        return "This order is already cancelled."
    return f"This order is {status.replace('_', ' ')}, so it can no longer be cancelled."


async def _order_page(
    page: PageContext,
    order: Order,
    *,
    status_code: int = 200,
    reordered: int | None = None,
    left_out_ids: frozenset[int] = frozenset(),
    cancelled: bool = False,
    refusal: str | None = None,
) -> HTMLResponse:
    """The order with figures that add up: each line's amount is its unit price times its quantity, the
    subtotal their sum; then the discount, shipping and, when prices exclude tax, the tax per rate, down to
    the total. When prices include tax, the tax is stated once, under the total, as the part of it that is
    tax (never added again)."""
    read, parts = await orders.read_with_tax(page.session, order)
    locale = page.settings.locale
    return await page.render(
        "web/account/order.html.j2",
        status_code=status_code,
        title=f"Order {read.number}",
        section="orders",
        order=read,
        line_names={line.id: line_name(line.product_name, line.variant_name) for line in read.lines},
        tax_rows=[
            (tax_rate_label(part.rate_ppm), from_minor(part.tax_minor, read.currency)) for part in parts
        ],
        payment_method=payment_method_name(read.payment_method),
        payment_status=payment_status_name(read.payment_status),
        delivery_lines=address_lines(read.shipping_address, locale) if read.shipping_address else [],
        billing_lines=address_lines(read.billing_address, locale) if read.billing_address else [],
        can_cancel=read.status in CUSTOMER_CANCELLABLE,
        has_invoice=has_document(order),
        reordered=reordered,
        left_out=[line for line in read.lines if line.id in left_out_ids],
        cancelled=cancelled,
        refusal=refusal,
    )


@router.get("/orders", response_class=HTMLResponse, response_model=None)
async def orders_page(page: ShopPage, number: PageNumber = 1) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page)
    params = PageParams(page=number, limit=ORDERS_PER_PAGE)
    items, total = await orders.page(page.session, OrderFilters(customer_id=customer.id), params)
    pages = max((total + ORDERS_PER_PAGE - 1) // ORDERS_PER_PAGE, 1)
    if number > pages:
        raise NotFound("There is no such page of orders.", code=PageError.PAGE_NOT_FOUND)
    return await page.render(
        "web/account/orders.html.j2",
        title="Your orders",
        section="orders",
        orders=items,
        total=total,
        current_page=number,
        pages=pages,
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse, response_model=None)
async def order_page(
    order_id: IdPath,
    page: ShopPage,
    reordered: Reordered = None,
    skipped: Skipped = None,
    cancelled: Annotated[bool, Query()] = False,
) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page)
    order = await own_order(page, customer, order_id)
    left_out = frozenset(int(x) for x in skipped.split(",")) if skipped else frozenset()
    return await _order_page(
        page,
        order,
        reordered=reordered,
        left_out_ids=left_out,
        cancelled=cancelled and order.status == "cancelled",
    )


@router.post("/orders/{order_id}/cancel", response_class=HTMLResponse, response_model=None)
async def cancel_order(order_id: IdPath, page: ShopPage) -> HTMLResponse | RedirectResponse:
    """Cancel through the same service as the API (the stock goes back, a captured payment is refunded);
    an order the state machine no longer lets the customer cancel comes back as its page with the reason
    (409), whatever the form claimed."""
    customer = page.customer
    if customer is None:
        return sign_in_first(page, f"/account/orders/{order_id}")
    order = await own_order(page, customer, order_id, lock=True)
    try:
        # A savepoint: a refusal must leave nothing behind, while the page below still reads the order.
        async with page.session.begin_nested():
            await orders.cancel_own(
                page.session,
                page.settings,
                order,
                actor_user_id=customer.id,
                reason="Cancelled by the customer.",
            )
    except IllegalTransition:
        return await _order_page(page, order, status_code=409, refusal=cancel_refusal(order.status))
    return page.redirect(f"/account/orders/{order.id}?cancelled=1")


@router.get("/orders/{order_id}/invoice.pdf", response_model=None)
async def order_invoice(order_id: IdPath, page: ShopPage) -> Response:
    """The invoice, or a pending order's pro-forma invoice; an order cancelled before it was confirmed
    has none (409, in the shop's error page)."""
    customer = page.customer
    if customer is None:
        return sign_in_first(page, f"/account/orders/{order_id}")
    order = await own_order(page, customer, order_id)
    pdf = await orders.invoice(page.session, page.settings, order)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="invoice-{order.number}.pdf"',
            "Cache-Control": NO_STORE,
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/orders/{order_id}/reorder", response_model=None)
async def reorder(order_id: IdPath, page: ShopPage) -> RedirectResponse:
    """The order's lines go back in the cart in one call of the cart service (one read and one write
    whatever the number of lines), which checks that each is still for sale and in stock, the lines of one
    pool together; a line it refuses is left out and named on the order page."""
    customer = page.customer
    if customer is None:
        return sign_in_first(page, f"/account/orders/{order_id}")
    order = await own_order(page, customer, order_id)
    cart, _ = await carts.get_or_create(page.session, page.settings, user_id=customer.id, token=None)
    wanted: list[tuple[str, ItemAdd]] = []
    skipped = []
    for line in await orders.lines(page.session, order):
        try:
            wanted.append((str(line.id), ItemAdd(variant_id=line.variant_id, quantity=line.quantity)))
        except ValidationError:  # a line the cart cannot hold as it was ordered
            skipped.append(str(line.id))
    refused: set[int] = set()
    if wanted:
        result = await carts.add_lines(page.session, cart, [item for _, item in wanted], keep_going=True)
        refused = {r.index for r in result.refused}
    skipped += [line_id for index, (line_id, _) in enumerate(wanted) if index in refused]
    skipped.sort(key=int)
    added = len(wanted) - len(refused)
    query = f"reordered={added}" + (f"&skipped={','.join(skipped)}" if skipped else "")
    return page.redirect(f"/account/orders/{order.id}?{query}")
