"""The signed-in customer's address book and order history: addresses (add, edit, delete, default), orders
with their timeline, the invoice PDF, and "order again", which puts an order's lines back in the cart.

Objects are reached as the API reaches them: an address through the profile service (another customer's
id is not found), an order only when it is the customer's own (another's is a 404, as in the API).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from emporium.accounts import schemas
from emporium.accounts.models import Address, User
from emporium.accounts.profile import profiles
from emporium.cart.schemas import ItemAdd
from emporium.cart.service import carts
from emporium.core.errors import Conflict, NotFound, ValidationFailed
from emporium.core.pagination import PageParams
from emporium.core.params import IdPath
from emporium.orders.invoice import invoice_pdf
from emporium.orders.models import Order
from emporium.orders.repository import OrderFilters, OrderRepository
from emporium.orders.service import order_not_found, orders
from emporium.web.account_pages import field_errors, form_values, optional, sign_in_first
from emporium.web.page import NO_STORE, PageContext, ShopPage
from emporium.web.places import country_choices, home_country
from emporium.web.routing import page_router

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


async def own_order(page: PageContext, customer: User, order_id: int) -> Order:
    """The customer's own order; any other id, someone else's included, is not found."""
    order = await OrderRepository(page.session).order(order_id)
    if order is None or order.user_id != customer.id:
        raise order_not_found()
    return order


@router.get("/orders", response_class=HTMLResponse, response_model=None)
async def orders_page(page: ShopPage, number: PageNumber = 1) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page)
    params = PageParams(page=number, limit=ORDERS_PER_PAGE)
    items, total = await orders.page(page.session, OrderFilters(customer_id=customer.id), params)
    pages = max((total + ORDERS_PER_PAGE - 1) // ORDERS_PER_PAGE, 1)
    if number > pages:
        raise NotFound("There is no such page of orders.", code="PAGE_NOT_FOUND")
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
    order_id: IdPath, page: ShopPage, reordered: Reordered = None, skipped: Skipped = None
) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page)
    order = await orders.read(page.session, await own_order(page, customer, order_id))
    left_out = {int(x) for x in skipped.split(",")} if skipped else set()
    return await page.render(
        "web/account/order.html.j2",
        title=f"Order {order.number}",
        section="orders",
        order=order,
        reordered=reordered,
        left_out=[line for line in order.lines if line.id in left_out],
    )


@router.get("/orders/{order_id}/invoice.pdf", response_model=None)
async def order_invoice(order_id: IdPath, page: ShopPage) -> Response:
    customer = page.customer
    if customer is None:
        return sign_in_first(page, f"/account/orders/{order_id}")
    order = await own_order(page, customer, order_id)
    pdf = invoice_pdf(page.settings, order, await OrderRepository(page.session).lines(order.id))
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
    """Each line of the order goes back in the cart through the cart service, which checks that it is
    still for sale and in stock; a line it refuses is left out and named on the order page."""
    customer = page.customer
    if customer is None:
        return sign_in_first(page, f"/account/orders/{order_id}")
    order = await own_order(page, customer, order_id)
    cart, _ = await carts.get_or_create(page.session, page.settings, user_id=customer.id, token=None)
    added, skipped = 0, []
    for line in await OrderRepository(page.session).lines(order.id):
        try:
            item = ItemAdd(variant_id=line.variant_id, quantity=line.quantity)
            # A refused line must leave nothing behind: each one is tried in a savepoint of its own.
            async with page.session.begin_nested():
                await carts.add(page.session, cart, item)
        except (ValidationError, NotFound, ValidationFailed, Conflict):
            skipped.append(str(line.id))
        else:
            added += 1
    query = f"reordered={added}" + (f"&skipped={','.join(skipped)}" if skipped else "")
    return page.redirect(f"/account/orders/{order.id}?{query}")
