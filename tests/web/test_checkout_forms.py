"""Forms that speak like a shop: every refused field has a human sentence (pages and API), countries are
chosen by name and checked with their postal code and region, phone numbers are stored in E.164, and
tracking finds an order however its phone number is typed."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from emporium.accounts.models import Address, User
from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.orders.models import Order
from tests.conftest import MakeContext, sign_up
from tests.inventory.factory import make_product
from tests.orders.factory import ADDRESS, GUEST, make_cart, make_shipping, order_body
from tests.support import asgi_client, data, error
from tests.web.conftest import csrf_token
from tests.web.test_account_pages import web_sign_in

# What Pydantic (or email-validator) writes, which no shopper may read.
VALIDATOR_TEXT = re.compile(
    r"String should|Input should|should match|should have|Field required|Value error|value is not a valid"
    r"|validation error|pattern|\[type=|errors\.pydantic|ISO 3166",
    re.IGNORECASE,
)
US_GUEST = {
    "contact_name": "Grace Hopper",
    "contact_phone": "(202) 555-0100",
    "contact_email": "grace@example.com",
}
US_ADDRESS = {
    "address_full_name": "Grace Hopper",
    "address_line1": "1 Navy Yard",
    "address_city": "Arlington",
    "address_region": "Virginia",
    "address_postal_code": "22202",
    "address_country": "US",
}


def errors_of(html: str) -> list[str]:
    return re.findall(r'<p class="field__error[^"]*" id="[^"]+">([^<]*)</p>', html)


def field_error(html: str, field_id: str) -> str:
    found = re.search(rf'<p class="field__error[^"]*" id="{field_id}-error">([^<]*)</p>', html)
    assert found, f"no error shown for {field_id}: {errors_of(html)}"
    return found.group(1).replace("&#39;", "'")


def selected_country(html: str, select_id: str) -> str:
    block = re.search(rf'<select[^>]* id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert block, f"no country list {select_id}"
    chosen = re.findall(r'<option value="([A-Z]*)" selected>', block.group(1))
    assert len(chosen) == 1, chosen
    return chosen[0]


async def cart_with_a_product(
    client: httpx.AsyncClient, ctx: AppContext, *, countries: tuple[str, ...]
) -> str:
    """A guest's cart with one product, the shop shipping to ``countries``; a CSRF token of its pages."""
    async with ctx.db.session() as session:
        made = await make_product(session, "Linen Apron", prices=("20.00",), on_hand=10)
        await make_shipping(session, countries=countries, price="5.00", name="Standard post")
        await session.commit()
    token = csrf_token((await client.get("/cart")).text)
    added = await client.post(
        "/cart/add", data={"csrf_token": token, "variant_id": str(made.variants[0].id), "quantity": "1"}
    )
    assert added.status_code in (200, 303), added.text
    return token


async def details(
    client: httpx.AsyncClient, token: str, base: dict[str, str] | None = None, **fields: str
) -> httpx.Response:
    """The first checkout step posted; the page it ends on (the review, or the form with its errors)."""
    posted = await client.post("/checkout/review", data={"csrf_token": token, **(base or {}), **fields})
    return await client.get(posted.headers["location"]) if posted.status_code == 303 else posted


# Human messages -------------------------------------------------------------------------------------------

BAD_CHECKOUTS: list[dict[str, str]] = [
    {},  # nothing at all
    {**US_GUEST, **US_ADDRESS, "contact_phone": "call me", "contact_email": "not-an-email"},
    {**US_GUEST, **US_ADDRESS, "contact_phone": "12", "address_postal_code": "SW1A 1AA"},
    {**US_GUEST, **US_ADDRESS, "address_country": "Narnia", "address_city": "x" * 300},
    {**US_GUEST, **US_ADDRESS, "address_country": "US", "address_region": "Atlantis"},
    {**US_GUEST, **US_ADDRESS, "address_country": "CA", "address_region": "", "address_postal_code": "1"},
    {**US_GUEST, **US_ADDRESS, "contact_name": "a\x00b", "address_line1": "<script>x</script>" * 30},
    {**US_GUEST, **US_ADDRESS, "contact_phone": "+" + "9" * 40, "contact_email": "@" * 400},
]


@pytest.mark.parametrize("bad", BAD_CHECKOUTS, ids=range(len(BAD_CHECKOUTS)))
async def test_no_validator_text_reaches_the_checkout_page(
    client: httpx.AsyncClient, ctx: AppContext, bad: dict[str, str]
) -> None:
    token = await cart_with_a_product(client, ctx, countries=("US", "CA"))
    page = await details(client, token, bad)
    assert page.status_code == 422
    assert errors_of(page.text), "the refusal names no field"
    assert not VALIDATOR_TEXT.search(page.text), VALIDATOR_TEXT.search(page.text)


async def test_checkout_fields_say_what_they_want(client: httpx.AsyncClient, ctx: AppContext) -> None:
    token = await cart_with_a_product(client, ctx, countries=("US",))
    page = await details(
        client,
        token,
        US_GUEST | US_ADDRESS,
        contact_phone="call me",
        contact_email="grace@",
        address_region="Atlantis",
        address_postal_code="2220",
    )
    assert field_error(page.text, "f-contact_phone") == (
        "Enter a phone number with its country code, like +44 20 7946 0958."
    )
    assert field_error(page.text, "f-contact_email") == "Enter a valid e-mail address, like name@example.com."
    assert field_error(page.text, "f-address_region") == "Enter a state of United States, by name or code."
    assert field_error(page.text, "f-address_postal_code") == "Enter a ZIP code like 94103 or 94103-1234."
    empty = await details(client, token)
    assert field_error(empty.text, "f-contact_name") == "Fill this in."
    assert field_error(empty.text, "f-address_line1") == "Enter the street and house number."
    assert field_error(empty.text, "f-address_country") == "Choose a country from the list."


async def test_no_validator_text_on_the_account_sign_up_and_tracking_forms(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    register_token = csrf_token((await client.get("/account/register")).text)
    signed_up = await client.post(
        "/account/register",
        data={
            "email": "not an address",
            "password": "x",
            "first_name": "y" * 200,
            "csrf_token": register_token,
        },
    )
    assert signed_up.status_code == 422
    assert errors_of(signed_up.text)
    assert not VALIDATOR_TEXT.search(signed_up.text)

    tracked = await client.get("/track", params={"order_number": "<b>", "contact": "not a phone"})
    assert tracked.status_code == 422
    assert errors_of(tracked.text) == [
        "Enter the order number from your e-mail, like ORD-2026-000123.",
        "Enter the e-mail address or phone number you gave at checkout.",
    ]

    await sign_up(client, "ada@example.com", first_name="Ada")
    token = await web_sign_in(client, "ada@example.com")
    bad_addresses = [
        {"full_name": "", "line1": "", "city": "", "postal_code": "", "country": ""},
        {"full_name": "Ada", "line1": "1 Road", "city": "London", "postal_code": "12345", "country": "GB"},
        {"full_name": "Ada", "line1": "1 Road", "city": "Austin", "postal_code": "787", "country": "US"},
        {"full_name": "Ada", "line1": "1 Road", "city": "X", "postal_code": "1", "country": "Narnia"},
        {
            "full_name": "Ada",
            "line1": "1 Road",
            "city": "X",
            "postal_code": "10115",
            "country": "DE",
            "phone": "12",
        },
    ]
    for values in bad_addresses:
        page = await client.post("/account/addresses", data={"csrf_token": token, **values})
        assert page.status_code == 422, values
        assert errors_of(page.text), values
        assert not VALIDATOR_TEXT.search(page.text), (values, VALIDATOR_TEXT.search(page.text))
    profile = await client.post(
        "/account/profile",
        data={"csrf_token": token, "first_name": "", "phone": "call me", "last_name": "x" * 200},
    )
    assert profile.status_code == 422
    assert field_error(profile.text, "profile-phone").startswith("Enter a phone number with its country code")
    assert not VALIDATOR_TEXT.search(profile.text)


async def test_the_api_gives_the_same_human_messages_in_its_details(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shopper = await sign_up(client, "ada@example.com", first_name="Ada")
    body = {"full_name": "Ada", "line1": "1 Road", "city": "Austin", "postal_code": "787", "country": "US"}
    refused = error(
        await client.post(
            "/api/v1/users/addresses", json=body | {"phone": "call me"}, headers=shopper.headers
        ),
        422,
    )
    assert refused["code"] == "VALIDATION_ERROR"
    assert {d["field"]: d["message"] for d in refused["details"]} == {
        "phone": "Enter a phone number with its country code, like +44 20 7946 0958.",
        "region": "Enter the state.",
        "postal_code": "Enter a ZIP code like 94103 or 94103-1234.",
    }
    unknown = error(
        await client.post("/api/v1/users/addresses", json=body | {"country": "XX"}, headers=shopper.headers),
        422,
    )
    assert {d["field"]: d["message"] for d in unknown["details"]} == {
        "country": "Choose a country from the list."
    }
    async with ctx.db.session() as session:
        method = await make_shipping(session)
        cart = await make_cart(
            session, [((await make_product(session, "Tee", prices=("9.00",))).variants[0], 1)]
        )
    bad_order = order_body(
        method.id,
        guest={"name": "", "phone": "nope", "email": "x"},
        shipping_address=ADDRESS | {"postal_code": "ABCDE"},
    )
    refused = error(await client.post("/api/v1/orders", json=bad_order, headers={"X-Cart-Token": cart}), 422)
    messages = {d["field"]: d["message"] for d in refused["details"]}
    assert messages == {
        "shipping_address.postal_code": "Enter a ZIP code like 94103 or 94103-1234.",
        "guest.name": "Fill this in.",
        "guest.phone": "Enter a phone number with its country code, like +44 20 7946 0958.",
        "guest.email": "Enter a valid e-mail address, like name@example.com.",
    }
    assert not any(VALIDATOR_TEXT.search(m) for m in messages.values())


# Countries --------------------------------------------------------------------------------------------


async def test_the_country_is_a_list_of_names_starting_at_the_shop_s_zone(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    token = await cart_with_a_product(client, ctx, countries=("GB",))
    page = await client.get("/checkout")
    assert page.status_code == 200
    assert '<label class="field__label" for="f-address_country">Country</label>' in page.text
    assert '<option value="GB" selected>United Kingdom</option>' in page.text
    assert '<option value="US">United States</option>' in page.text
    assert '<option value="IN">India</option>' in page.text
    assert selected_country(page.text, "f-address_country") == "GB"
    # What was chosen is kept when the form comes back with errors.
    again = await details(client, token, US_GUEST, address_country="IN")
    assert selected_country(again.text, "f-address_country") == "IN"


async def test_country_names_follow_the_shop_locale(make_context: MakeContext) -> None:
    german = make_context(locale="de_DE")
    async with asgi_client(create_app(ctx=german)) as client:
        token = await cart_with_a_product(client, german, countries=("DE",))
        page = await client.get("/checkout")
        assert '<option value="DE" selected>Deutschland</option>' in page.text
        assert '<option value="US">Vereinigte Staaten</option>' in page.text
        assert token


async def test_the_address_book_uses_the_same_list(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        await make_shipping(session, countries=("IN",))
        await session.commit()
    await sign_up(client, "ada@example.com", first_name="Ada")
    await web_sign_in(client, "ada@example.com")
    page = await client.get("/account/addresses/new")
    assert selected_country(page.text, "address-country") == "IN"
    assert '<option value="FR">France</option>' in page.text


# Postal codes and regions per country ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "region", "typed", "shown"),
    [
        ("US", "va", "22202-1234", "22202-1234"),
        ("CA", "Ontario", "k1a0b1", "K1A 0B1"),
        ("GB", "", "sw1a1aa", "SW1A 1AA"),
        ("IN", "KA", "560 034", "560034"),
        ("DE", "", "10115", "10115"),
        ("FR", "", "75001", "75001"),
        ("AU", "nsw", "2000", "2000"),
        ("BR", "", "01310-100", "01310-100"),
    ],
)
async def test_a_postal_code_is_taken_in_its_country_s_format(
    client: httpx.AsyncClient, ctx: AppContext, country: str, region: str, typed: str, shown: str
) -> None:
    token = await cart_with_a_product(client, ctx, countries=(country,))
    page = await details(
        client,
        token,
        US_GUEST | US_ADDRESS,
        address_country=country,
        address_region=region,
        address_postal_code=typed,
        contact_phone="+1 202 555 0100",
    )
    assert page.status_code == 200, errors_of(page.text)
    assert "Review your order" in page.text
    assert shown in page.text


@pytest.mark.parametrize(
    ("country", "region", "typed", "message"),
    [
        ("US", "VA", "2220", "Enter a ZIP code like 94103 or 94103-1234."),
        ("CA", "ON", "12345", "Enter a postal code like K1A 0B1."),
        ("GB", "", "12345", "Enter a postcode like SW1A 1AA."),
        ("IN", "Kerala", "0123456", "Enter a PIN code like 110001."),
        ("DE", "", "1011", "Enter a postcode (Postleitzahl) like 10115."),
        ("FR", "", "7500", "Enter a postal code like 75001."),
        ("AU", "VIC", "300", "Enter a postcode like 2000."),
    ],
)
async def test_a_postal_code_of_another_shape_is_refused_by_the_country(
    client: httpx.AsyncClient, ctx: AppContext, country: str, region: str, typed: str, message: str
) -> None:
    token = await cart_with_a_product(client, ctx, countries=(country,))
    page = await details(
        client,
        token,
        US_GUEST | US_ADDRESS,
        address_country=country,
        address_region=region,
        address_postal_code=typed,
    )
    assert page.status_code == 422
    assert field_error(page.text, "f-address_postal_code") == message


async def test_a_saved_address_changed_in_part_is_checked_as_a_whole(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shopper = await sign_up(client, "ada@example.com", first_name="Ada")
    body = {
        "full_name": "Ada",
        "line1": "1 Road",
        "city": "London",
        "postal_code": "sw1a1aa",
        "country": "gb",
    }
    saved = data(await client.post("/api/v1/users/addresses", json=body, headers=shopper.headers), 201)
    assert (saved["country"], saved["postal_code"]) == ("GB", "SW1A 1AA")
    path = f"/api/v1/users/addresses/{saved['id']}"
    # Moving it to the US with a British postcode and no state is refused, field by field.
    refused = error(await client.put(path, json={"country": "US"}, headers=shopper.headers), 422)
    assert {d["field"] for d in refused["details"]} == {"region", "postal_code"}
    moved = data(
        await client.put(
            path,
            json={"country": "US", "region": "new york", "postal_code": "10001", "phone": "(212) 555-0100"},
            headers=shopper.headers,
        )
    )
    assert (moved["country"], moved["region"], moved["postal_code"], moved["phone"]) == (
        "US",
        "NY",
        "10001",
        "+12125550100",
    )
    short = error(await client.put(path, json={"postal_code": "1000"}, headers=shopper.headers), 422)
    assert short["details"] == [
        {"field": "postal_code", "message": "Enter a ZIP code like 94103 or 94103-1234."}
    ]


# Phone numbers in E.164 -------------------------------------------------------------------------------------


async def test_checkout_stores_the_guest_s_phone_in_e164(client: httpx.AsyncClient, ctx: AppContext) -> None:
    token = await cart_with_a_product(client, ctx, countries=("US",))
    review = await details(client, token, US_GUEST | US_ADDRESS)
    assert review.status_code == 200, errors_of(review.text)
    assert "+12025550100" in review.text  # (202) 555-0100, read in the United States
    form = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', review.text))
    for name in ("shipping_method_id", "payment_method"):
        checked = re.search(rf'name="{name}" value="([^"]+)" checked', review.text)
        assert checked, name
        form[name] = checked.group(1)
    form["payment_method"] = "cash_on_delivery"
    placed = await client.post("/checkout/place", data=form)
    assert placed.status_code == 303, placed.text
    async with ctx.db.session() as session:
        order = (await session.execute(select(Order))).scalar_one()
    assert order.contact_phone == "+12025550100"
    assert order.shipping_address["phone"] == "+12025550100"
    assert order.shipping_address["region"] == "VA"  # "Virginia", as the post writes it


async def test_the_recipient_is_the_contact_when_left_empty(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    token = await cart_with_a_product(client, ctx, countries=("US",))
    review = await details(client, token, US_GUEST | US_ADDRESS, address_full_name="")
    assert review.status_code == 200, errors_of(review.text)
    assert re.search(r'<address class="checkout-address">\s*Grace Hopper<br>', review.text)


async def test_address_book_and_profile_store_phones_in_e164(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shopper = await sign_up(client, "ada@example.com", first_name="Ada")
    token = await web_sign_in(client, "ada@example.com")
    form = {
        "csrf_token": token,
        "full_name": "Ada Lovelace",
        "line1": "12 St James's Square",
        "city": "London",
        "postal_code": "sw1y4jh",
        "country": "GB",
        "phone": "020 7946 0958",
        "is_default": "on",
    }
    assert (await client.post("/account/addresses", data=form)).status_code == 303
    [address] = data(await client.get("/api/v1/users/addresses", headers=shopper.headers))
    assert (address["phone"], address["postal_code"]) == ("+442079460958", "SW1Y 4JH")
    # A number typed without its country code on the profile is read in the default address's country.
    saved = await client.post(
        "/account/profile", data={"csrf_token": token, "first_name": "Ada", "phone": "020 7946 0000"}
    )
    assert saved.status_code == 303
    me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    assert me["phone"] == "+442079460000"
    # The API takes an international number in any format and stores E.164.
    updated = data(
        await client.put(
            "/api/v1/users/profile", json={"phone": "+1 (202) 555-0100"}, headers=shopper.headers
        )
    )
    assert updated["phone"] == "+12025550100"


# Tracking by phone ----------------------------------------------------------------------------------------

TYPED = ["+1 202 555 0100", "(202) 555-0100", "2025550100"]


async def _order_with_phone(client: httpx.AsyncClient, ctx: AppContext, phone: str) -> str:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Tracked tee", prices=("10.00",))
        method = await make_shipping(session)
        cart = await make_cart(session, [(tee.variants[0], 1)])
    body = order_body(method.id, guest=GUEST | {"phone": phone})
    order: dict[str, Any] = data(
        await client.post("/api/v1/orders", json=body, headers={"X-Cart-Token": cart}), 201
    )
    return str(order["number"])


def tracking_context(make_context: MakeContext) -> AppContext:
    """A shop whose per-address tracking limit lets one test try every format (the limits have tests of
    their own in test_cart_pages.py and test_tracking_guesses.py)."""
    return make_context(order_track_rate_limit="1000/minute")


@pytest.mark.parametrize("typed_at_checkout", TYPED)
async def test_track_finds_the_order_whichever_way_the_phone_is_typed(
    make_context: MakeContext, typed_at_checkout: str
) -> None:
    ctx = tracking_context(make_context)
    async with asgi_client(create_app(ctx=ctx)) as client:
        number = await _order_with_phone(client, ctx, typed_at_checkout)
        await _found_by_every_format(ctx, number)


async def _found_by_every_format(ctx: AppContext, number: str) -> None:
    async with ctx.db.session() as session:
        stored = (
            await session.execute(select(Order.contact_phone).where(Order.number == number))
        ).scalar_one()
    assert stored == "+12025550100"
    async with asgi_client(create_app(ctx=ctx)) as stranger:
        for typed in TYPED:
            page = await stranger.get("/track", params={"order_number": number, "contact": typed})
            assert page.status_code == 200, (typed, errors_of(page.text))
            assert f"Order {number}" in page.text
            api = await stranger.get("/api/v1/orders/track", params={"order_number": number, "phone": typed})
            assert data(api)["number"] == number
        wrong = await stranger.get("/track", params={"order_number": number, "contact": "(202) 555-0199"})
        assert wrong.status_code == 404
        wrong_api = await stranger.get(
            "/api/v1/orders/track", params={"order_number": number, "phone": "2025550199"}
        )
        assert error(wrong_api, 404)["code"] == "ORDER_NOT_FOUND"


async def test_orders_stored_before_e164_are_found_too(make_context: MakeContext) -> None:
    """Orders placed before numbers were normalised hold what was typed; no migration rewrites them, so the
    lookup reads the stored number in the order's delivery country."""
    ctx = tracking_context(make_context)
    async with asgi_client(create_app(ctx=ctx)) as client:
        await _legacy_rows_found(client, ctx)


async def _legacy_rows_found(client: httpx.AsyncClient, ctx: AppContext) -> None:
    number = await _order_with_phone(client, ctx, "+1 202 555 0100")
    for legacy in ("(202) 555-0100", "202.555.0100", "+1 (202) 555-0100"):
        async with ctx.db.session() as session:
            await session.execute(update(Order).where(Order.number == number).values(contact_phone=legacy))
            await session.commit()
        for typed in TYPED:
            found = await client.get("/api/v1/orders/track", params={"order_number": number, "phone": typed})
            assert data(found)["number"] == number, (legacy, typed)
            page = await client.get("/track", params={"order_number": number, "contact": typed})
            assert page.status_code == 200, (legacy, typed)


async def test_a_saved_demo_style_phone_is_left_alone_by_an_unrelated_change(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """A number saved under older rules is not refused because another part of its address changed."""
    shopper = await sign_up(client, "ada@example.com", first_name="Ada")
    body = {"full_name": "Ada", "line1": "1 Road", "city": "Paris", "postal_code": "75001", "country": "FR"}
    saved = data(await client.post("/api/v1/users/addresses", json=body, headers=shopper.headers), 201)
    async with ctx.db.session() as session:
        await session.execute(update(Address).where(Address.id == saved["id"]).values(phone="+1 555 0100"))
        user = (await session.execute(select(User).where(User.email == "ada@example.com"))).scalar_one()
        assert user.id
        await session.commit()
    changed = data(
        await client.put(
            f"/api/v1/users/addresses/{saved['id']}",
            json={"city": "Lyon", "postal_code": "69001"},
            headers=shopper.headers,
        )
    )
    assert (changed["city"], changed["postal_code"], changed["phone"]) == ("Lyon", "69001", "+1 555 0100")
