"""The account area's pages: registration, e-mail confirmation, password reset, profile, addresses,
password change, notification preferences, order history with reorder and invoice, export and deletion."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from emporium.accounts.models import Address, User
from emporium.app import create_app
from emporium.catalog.models import Product
from emporium.core.context import AppContext
from tests.conftest import MakeContext, Shopper, sign_up
from tests.inventory.factory import make_product
from tests.orders.factory import ADDRESS, make_cart, make_shipping
from tests.support import STRONG_PASSWORD, SmtpServer, asgi_client, count_statements, data, token_from
from tests.web.conftest import csrf_token, token_of

NEW_PASSWORD = "purple elephants dance quietly"
ACCOUNT_PAGES = (
    "/account",
    "/account/profile",
    "/account/password",
    "/account/notifications",
    "/account/privacy",
    "/account/addresses",
    "/account/addresses/new",
    "/account/orders",
    "/account/orders/1",
    "/account/export",
)


async def web_sign_in(client: httpx.AsyncClient, email: str, password: str = STRONG_PASSWORD) -> str:
    """Signs the client's browser in through the sign-in form; the CSRF token of its pages."""
    token = await token_of(client)
    response = await client.post(
        "/account/sign-in",
        data={"email": email, "password": password, "next": "/account", "csrf_token": token},
    )
    assert response.status_code == 303, response.text
    return token


async def customer(client: httpx.AsyncClient, email: str = "ada@example.com") -> tuple[Shopper, str]:
    shopper = await sign_up(client, email, first_name="Ada", last_name="Lovelace")
    return shopper, await web_sign_in(client, email)


async def place_order(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, names: tuple[str, ...] = ("Linen Shirt",)
) -> dict[str, Any]:
    """An order of one unit of each named product, checked out through the orders API."""
    me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    async with ctx.db.session() as session:
        made = [await make_product(session, name, prices=("20.00",), on_hand=10) for name in names]
        method = await make_shipping(session, price="5.00")
        await make_cart(session, [(m.variants[0], 1) for m in made], user_id=me["id"])
    body = {"shipping_address": ADDRESS, "shipping_method_id": method.id, "payment_method": "test"}
    order: dict[str, Any] = data(await client.post("/api/v1/orders", json=body, headers=shopper.headers), 201)
    return order


def field_error(html: str, field_id: str) -> str:
    found = re.search(rf'<p class="field__error[^"]*" id="{field_id}-error">([^<]*)</p>', html)
    assert found, f"no error shown for {field_id}"
    return found.group(1)


def input_value(html: str, field_id: str) -> str:
    found = re.search(rf'<input[^>]* id="{field_id}"[^>]* value="([^"]*)"', html)
    assert found, f"no value for {field_id}"
    return found.group(1)


# Signed-in only -------------------------------------------------------------------------------------------


async def test_account_pages_send_guests_to_sign_in_and_back(client: httpx.AsyncClient) -> None:
    for path in ACCOUNT_PAGES:
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/account/sign-in?next=" + path.replace("/", "%2F")
    response = await client.get("/account/orders?page=2")
    assert response.headers["location"] == "/account/sign-in?next=%2Faccount%2Forders%3Fpage%3D2"


async def test_a_guest_posting_an_account_form_changes_nothing(client: httpx.AsyncClient) -> None:
    token = await token_of(client)
    response = await client.post("/account/profile", data={"first_name": "Eve", "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/account/sign-in?next=%2Faccount%2Fprofile"


async def test_the_overview_links_every_account_page(client: httpx.AsyncClient) -> None:
    await customer(client)
    response = await client.get("/account")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    for path in ("/account/orders", "/account/addresses", "/account/profile", "/account/password"):
        assert f'href="{path}"' in response.text
    assert 'aria-current="page">Overview' in response.text


# Registration and e-mail confirmation ---------------------------------------------------------------------


async def test_register_then_confirm_the_address_from_the_mail(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    token = await token_of(client, "/account/register")
    response = await client.post(
        "/account/register",
        data={
            "email": "Grace@Example.com",
            "password": STRONG_PASSWORD,
            "first_name": "Grace",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account/register?sent=1"
    assert "Check your e-mail" in (await client.get("/account/register?sent=1")).text
    await ctx.jobs.run_until_idle()
    [mail] = [m for m in smtp.sink.to("grace@example.com") if "verify-email" in m.text]
    assert "http://shop.test/account/verify-email?token=" in mail.text
    link = token_from(mail.text)

    page = await client.get(f"/account/verify-email?token={link}")
    assert page.status_code == 200
    assert "Your e-mail address is confirmed." in page.text
    async with ctx.db.session() as session:
        user = (await session.execute(select(User).where(User.email == "grace@example.com"))).scalar_one()
        assert user.email_verified_at is not None
        assert user.first_name == "Grace"
    # A link works once.
    again = await client.get(f"/account/verify-email?token={link}")
    assert again.status_code == 400
    assert "not valid or has expired" in again.text


async def test_a_taken_address_gets_the_same_answer(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    await sign_up(client, "ada@example.com")
    await ctx.jobs.run_until_idle()
    smtp.sink.clear()
    token = await token_of(client, "/account/register")
    response = await client.post(
        "/account/register", data={"email": "ada@example.com", "password": NEW_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account/register?sent=1"
    await ctx.jobs.run_until_idle()
    [notice] = smtp.sink.to("ada@example.com")
    assert "verify-email" not in notice.text  # the owner is told, nothing else happens
    # The old password still signs in: the account was not touched.
    await web_sign_in(client, "ada@example.com")


async def test_register_errors_are_shown_next_to_the_fields(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    token = await token_of(client, "/account/register")
    response = await client.post(
        "/account/register",
        data={
            "email": "not-an-address",
            "password": "password",
            "first_name": "<b>Grace</b>",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    html = response.text
    assert field_error(html, "register-email") == "Enter a valid e-mail address, like name@example.com."
    assert "too common" in field_error(html, "register-password")
    assert input_value(html, "register-email") == "not-an-address"
    assert input_value(html, "register-first-name") == "&lt;b&gt;Grace&lt;/b&gt;"
    assert 'value="password"' not in html  # a password is never sent back
    async with ctx.db.session() as session:
        assert (await session.execute(select(User))).scalars().all() == []


async def test_register_without_the_csrf_token_is_refused(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await token_of(client, "/account/register")
    response = await client.post(
        "/account/register", data={"email": "eve@example.com", "password": NEW_PASSWORD}
    )
    assert response.status_code == 403
    assert "did not come from this shop" in response.text
    async with ctx.db.session() as session:
        assert (await session.execute(select(User))).scalars().all() == []


async def test_a_new_verification_link_can_be_asked_for(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    _, token = await customer(client)
    await ctx.jobs.run_until_idle()
    smtp.sink.clear()
    overview = await client.get("/account")
    assert "not confirmed yet" in overview.text
    assert (await client.post("/account/verify-email/resend")).status_code == 403
    response = await client.post("/account/verify-email/resend", data={"csrf_token": token})
    assert response.headers["location"] == "/account?resent=1"
    assert "A new link is on its way to ada@example.com." in (await client.get("/account?resent=1")).text
    await ctx.jobs.run_until_idle()
    [mail] = smtp.sink.to("ada@example.com")
    assert (await client.get(f"/account/verify-email?token={token_from(mail.text)}")).status_code == 200
    assert "not confirmed yet" not in (await client.get("/account")).text


async def test_verify_with_a_bad_token_is_a_400_page(client: httpx.AsyncClient) -> None:
    for query in ("", "?token=short", "?token=" + "x" * 64, "?token=%3Cscript%3E%3C%2Fscript%3Eaaaaaaaaa"):
        response = await client.get("/account/verify-email" + query)
        assert response.status_code == 400, query
        assert "Link not valid" in response.text
        assert "<script></script>" not in response.text
    assert (await client.get("/account/verify-email?token=" + "x" * 5000)).status_code == 422


async def test_registration_is_rate_limited_as_the_api(
    client: httpx.AsyncClient, make_context: MakeContext
) -> None:
    limited = make_context(auth_rate_limit="2/minute")
    async with asgi_client(create_app(ctx=limited)) as browser:
        token = await token_of(browser, "/account/register")
        body = {"email": "bad", "password": "x", "csrf_token": token}
        statuses = [(await browser.post("/account/register", data=body)).status_code for _ in range(3)]
        assert statuses == [422, 422, 429]
        refused = await browser.post(
            "/account/forgot-password", data={"email": "a@b.co", "csrf_token": token}
        )
        assert refused.status_code == 429
        assert "Slow down" in refused.text


# Forgotten password ----------------------------------------------------------------------------------------


async def test_forgot_and_reset_the_password_from_the_mail(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    shopper = await sign_up(client, "ada@example.com")
    await ctx.jobs.run_until_idle()
    token = await token_of(client, "/account/forgot-password")
    response = await client.post(
        "/account/forgot-password", data={"email": "ada@example.com", "csrf_token": token}
    )
    assert response.headers["location"] == "/account/forgot-password?sent=1"
    # An unknown address gets the same answer.
    unknown = await client.post(
        "/account/forgot-password", data={"email": "who@example.com", "csrf_token": token}
    )
    assert unknown.headers["location"] == "/account/forgot-password?sent=1"
    await ctx.jobs.run_until_idle()
    [mail] = [m for m in smtp.sink.to("ada@example.com") if "reset-password" in m.text]
    reset = token_from(mail.text)

    form = await client.get(f"/account/reset-password?token={reset}")
    assert form.status_code == 200
    assert f'name="token" value="{reset}"' in form.text
    weak = await client.post(
        "/account/reset-password", data={"token": reset, "password": "short", "csrf_token": token}
    )
    assert weak.status_code == 422
    assert field_error(weak.text, "reset-password") == "Use at least 8 characters."
    done = await client.post(
        "/account/reset-password", data={"token": reset, "password": NEW_PASSWORD, "csrf_token": token}
    )
    assert done.headers["location"] == "/account/reset-password?done=1"
    assert "Sign in with the new one" in (await client.get("/account/reset-password?done=1")).text
    # The API session of the old password has ended; the new password signs in.
    assert (await client.get("/api/v1/users/profile", headers=shopper.headers)).status_code == 401
    await web_sign_in(client, "ada@example.com", NEW_PASSWORD)
    # The link works once.
    again = await client.post(
        "/account/reset-password", data={"token": reset, "password": NEW_PASSWORD, "csrf_token": token}
    )
    assert again.status_code == 400
    assert "not valid or has expired" in again.text


async def test_reset_pages_refuse_bad_tokens(client: httpx.AsyncClient) -> None:
    token = await token_of(client)
    assert (await client.get("/account/reset-password")).status_code == 400
    assert (await client.get("/account/reset-password?token=abc")).status_code == 400
    response = await client.post(
        "/account/reset-password", data={"token": "", "password": NEW_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 400
    forgot = await client.post("/account/forgot-password", data={"email": "<script>", "csrf_token": token})
    assert forgot.status_code == 422
    assert input_value(forgot.text, "forgot-email") == "&lt;script&gt;"


# Profile, password, notifications ---------------------------------------------------------------------------


async def test_profile_is_updated_and_errors_keep_the_values(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shopper, token = await customer(client)
    bad = await client.post(
        "/account/profile",
        data={
            "first_name": "Ada",
            "last_name": '"><script>x</script>',
            "phone": "call me",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422
    assert "with its country code" in field_error(bad.text, "profile-phone")
    assert input_value(bad.text, "profile-phone") == "call me"
    assert input_value(bad.text, "profile-last-name") == "&#34;&gt;&lt;script&gt;x&lt;/script&gt;"
    nul = await client.post("/account/profile", data={"first_name": "A\x00da", "csrf_token": token})
    assert nul.status_code == 422
    assert field_error(nul.text, "profile-first-name") == "NUL characters are not allowed."
    me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    assert (me["first_name"], me["last_name"], me["phone"]) == ("Ada", "Lovelace", None)

    ok = await client.post(
        "/account/profile",
        data={"first_name": "Augusta", "last_name": "", "phone": "+44 20 7946 0958", "csrf_token": token},
    )
    assert ok.headers["location"] == "/account/profile?saved=1"
    me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    assert (me["first_name"], me["last_name"], me["phone"]) == ("Augusta", None, "+442079460958")
    page = await client.get("/account/profile?saved=1")
    assert "Your details were saved." in page.text
    assert input_value(page.text, "profile-first-name") == "Augusta"


async def test_profile_without_the_csrf_token_changes_nothing(client: httpx.AsyncClient) -> None:
    shopper, _ = await customer(client)
    response = await client.post("/account/profile", data={"first_name": "Eve"})
    assert response.status_code == 403
    forged = await client.post("/account/profile", data={"first_name": "Eve", "csrf_token": "x" * 43})
    assert forged.status_code == 403
    assert data(await client.get("/api/v1/users/profile", headers=shopper.headers))["first_name"] == "Ada"


async def test_change_password_signs_out_other_sessions(client: httpx.AsyncClient) -> None:
    shopper, token = await customer(client)
    wrong = await client.post(
        "/account/password",
        data={"current_password": "not my password", "new_password": NEW_PASSWORD, "csrf_token": token},
    )
    assert wrong.status_code == 422
    assert field_error(wrong.text, "password-current-password") == "The password is not correct."
    weak = await client.post(
        "/account/password",
        data={"current_password": STRONG_PASSWORD, "new_password": "abc", "csrf_token": token},
    )
    assert weak.status_code == 422
    assert field_error(weak.text, "password-new-password") == "Use at least 8 characters."
    assert (await client.get("/api/v1/users/profile", headers=shopper.headers)).status_code == 200

    done = await client.post(
        "/account/password",
        data={"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD, "csrf_token": token},
    )
    assert done.headers["location"] == "/account/password?saved=1"
    # This browser stays signed in; the other session (the API's) has ended.
    assert "Other devices were signed out" in (await client.get("/account/password?saved=1")).text
    assert (await client.get("/api/v1/users/profile", headers=shopper.headers)).status_code == 401
    login = await client.post("/api/v1/auth/login", json={"email": shopper.email, "password": NEW_PASSWORD})
    assert login.status_code == 200


def _choices(prefs: dict[str, Any]) -> dict[tuple[str, str], bool]:
    return {(c["category"], s["channel"]): s["enabled"] for c in prefs["categories"] for s in c["channels"]}


async def test_notification_preferences(client: httpx.AsyncClient) -> None:
    shopper, token = await customer(client)
    page = await client.get("/account/notifications")
    assert re.search(r'id="prefs-orders-email" name="orders:email" type="checkbox" checked', page.text)
    assert re.search(r'id="prefs-orders-sms" name="orders:sms" type="checkbox">', page.text)
    # E-mail of account messages is shown on and cannot be changed.
    assert re.search(r'name="account:email" type="checkbox" checked disabled', page.text)
    response = await client.post(
        "/account/notifications",
        data={"orders:sms": "on", "marketing:email": "on", "quiet_hours": "22:00-07:00", "csrf_token": token},
    )
    assert response.headers["location"] == "/account/notifications?saved=1"
    prefs = data(await client.get("/api/v1/users/preferences/notifications", headers=shopper.headers))
    choices = _choices(prefs)
    # Unticked boxes are off, ticked ones on; account e-mail stays on whatever the form says.
    assert (choices["orders", "email"], choices["orders", "sms"], choices["marketing", "email"]) == (
        False,
        True,
        True,
    )
    assert choices["account", "email"] is True
    assert (
        next(c for c in prefs["categories"] if c["category"] == "marketing")["consent_source"]
        == "account_page"
    )
    assert prefs["quiet_hours"] == "22:00-07:00"
    page = await client.get("/account/notifications?saved=1")
    assert "Your preferences were saved." in page.text
    assert re.search(r'name="marketing:email" type="checkbox" checked', page.text)
    assert 'value="22:00-07:00"' in page.text


async def test_notification_preferences_refuse_quiet_hours_they_cannot_read(
    client: httpx.AsyncClient,
) -> None:
    shopper, token = await customer(client)
    response = await client.post(
        "/account/notifications",
        data={"orders:email": "on", "quiet_hours": "after dinner", "csrf_token": token},
    )
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.text
    assert 'value="after dinner"' in response.text
    prefs = data(await client.get("/api/v1/users/preferences/notifications", headers=shopper.headers))
    assert prefs["quiet_hours"] is None


async def test_notification_preferences_follow_the_channels_the_shop_sends(make_context: MakeContext) -> None:
    """A shop that sends only e-mail offers only e-mail: no box for a channel that would never send."""
    ctx = make_context(notifications_development_channels=[])
    async with asgi_client(create_app(ctx=ctx)) as client:
        shopper, token = await customer(client)
        page = await client.get("/account/notifications")
        assert re.search(r'name="orders:email" type="checkbox" checked', page.text)
        assert not re.search(r'name="\w+:(sms|push|whatsapp)"', page.text)
        await client.post("/account/notifications", data={"orders:sms": "on", "csrf_token": token})
        prefs = data(await client.get("/api/v1/users/preferences/notifications", headers=shopper.headers))
    assert prefs["channels"] == ["email"]
    assert _choices(prefs) == {(c, "email"): c == "account" for c in _CATEGORIES}


_CATEGORIES = ("account", "orders", "marketing", "back_in_stock", "abandoned_cart", "review_request")


# Addresses ----------------------------------------------------------------------------------------------


def address_form(token: str, **changes: str) -> dict[str, str]:
    values = {
        "label": "Home",
        "full_name": "Ada Lovelace",
        "line1": "12 St James's Square",
        "line2": "",
        "city": "London",
        "region": "",
        "postal_code": "SW1Y 4JH",
        "country": "gb",
        "phone": "",
        "csrf_token": token,
    }
    values.update(changes)
    return values


async def test_addresses_are_added_edited_made_default_and_deleted(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shopper, token = await customer(client)
    assert "No saved address yet" in (await client.get("/account/addresses")).text
    first = await client.post("/account/addresses", data=address_form(token))
    assert first.headers["location"] == "/account/addresses?saved=1"
    await client.post("/account/addresses", data=address_form(token, label="Work", city="Cambridge"))
    listed = data(await client.get("/api/v1/users/addresses", headers=shopper.headers))
    home, work = sorted(listed, key=lambda a: a["id"])
    assert (home["country"], home["is_default"], work["is_default"]) == ("GB", True, False)
    page = await client.get("/account/addresses")
    assert "Cambridge" in page.text
    assert f'action="/account/addresses/{work["id"]}/default"' in page.text

    edit = await client.get(f"/account/addresses/{home['id']}/edit")
    assert input_value(edit.text, "address-city") == "London"
    changed = await client.post(
        f"/account/addresses/{home['id']}", data=address_form(token, city="Oxford", is_default="on")
    )
    assert changed.status_code == 303
    await client.post(f"/account/addresses/{work['id']}/default", data={"csrf_token": token})
    listed = {a["id"]: a for a in data(await client.get("/api/v1/users/addresses", headers=shopper.headers))}
    assert listed[home["id"]]["city"] == "Oxford"
    assert (listed[home["id"]]["is_default"], listed[work["id"]]["is_default"]) == (False, True)

    await client.post(f"/account/addresses/{work['id']}/delete", data={"csrf_token": token})
    listed = data(await client.get("/api/v1/users/addresses", headers=shopper.headers))
    assert [(a["id"], a["is_default"]) for a in listed] == [(home["id"], True)]


async def test_address_errors_re_show_the_form(client: httpx.AsyncClient, ctx: AppContext) -> None:
    _, token = await customer(client)
    response = await client.post(
        "/account/addresses", data=address_form(token, country="Narnia", full_name="", city="<img src=x>")
    )
    assert response.status_code == 422
    assert field_error(response.text, "address-country") == "Choose a country from the list."
    assert field_error(response.text, "address-full-name") == "Enter the recipient&#39;s name."
    assert input_value(response.text, "address-city") == "&lt;img src=x&gt;"
    long = await client.post("/account/addresses", data=address_form(token, postal_code="9" * 500))
    assert long.status_code == 422
    assert field_error(long.text, "address-postal-code") == "Use at most 20 characters."
    async with ctx.db.session() as session:
        assert (await session.execute(select(Address))).scalars().all() == []


async def test_another_customers_address_is_not_found(client: httpx.AsyncClient) -> None:
    other, _ = await customer(client, "bob@example.com")
    theirs = data(
        await client.post(
            "/api/v1/users/addresses",
            json={
                "full_name": "Bob",
                "line1": "1 Road",
                "city": "Paris",
                "postal_code": "75001",
                "country": "FR",
            },
            headers=other.headers,
        ),
        201,
    )
    client.cookies.clear()
    _, token = await customer(client, "ada@example.com")
    assert (await client.get(f"/account/addresses/{theirs['id']}/edit")).status_code == 404
    for action in ("", "/default", "/delete"):
        response = await client.post(f"/account/addresses/{theirs['id']}{action}", data=address_form(token))
        assert response.status_code == 404, action
        assert "We could not find that page" in response.text
    assert (await client.get("/account/addresses/99999999999999999999999/edit")).status_code == 422
    assert (await client.get("/account/addresses/0/edit")).status_code == 422
    after = data(await client.get(f"/api/v1/users/addresses/{theirs['id']}", headers=other.headers))
    assert after["city"] == "Paris"


# Orders -------------------------------------------------------------------------------------------------


async def test_order_history_and_order_page(client: httpx.AsyncClient, ctx: AppContext) -> None:
    shopper, _ = await customer(client)
    order = await place_order(client, ctx, shopper, ("Linen Shirt", "Wool Socks"))
    with count_statements(ctx.db.engine) as listing:
        history = await client.get("/account/orders")
    assert history.status_code == 200
    assert order["number"] in history.text
    assert f'href="/account/orders/{order["id"]}"' in history.text
    assert "$45.00" in history.text  # two shirts at 20 and 5 shipping
    assert len(listing) <= 5, listing

    with count_statements(ctx.db.engine) as statements:
        page = await client.get(f"/account/orders/{order['id']}")
    assert page.status_code == 200
    assert "Linen Shirt" in page.text
    assert "Wool Socks" in page.text
    assert 'class="timeline"' in page.text
    assert "Pending" in page.text
    assert f'href="/account/orders/{order["id"]}/invoice.pdf"' in page.text
    assert len(statements) <= 6, statements

    pdf = await client.get(f"/account/orders/{order['id']}/invoice.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["cache-control"] == "private, no-store"


async def test_order_history_pages(client: httpx.AsyncClient) -> None:
    await customer(client)
    assert "You have not ordered anything yet" in (await client.get("/account/orders")).text
    assert (await client.get("/account/orders?page=2")).status_code == 404
    for bad in ("0", "-1", "abc", "99999999999"):
        response = await client.get(f"/account/orders?page={bad}")
        assert response.status_code == 422, bad
        assert "<!doctype html>" in response.text


async def test_another_customers_order_is_not_found(client: httpx.AsyncClient, ctx: AppContext) -> None:
    other, _ = await customer(client, "bob@example.com")
    theirs = await place_order(client, ctx, other)
    client.cookies.clear()
    _, token = await customer(client, "ada@example.com")
    for path in (f"/account/orders/{theirs['id']}", f"/account/orders/{theirs['id']}/invoice.pdf"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "We could not find that page" in response.text
    response = await client.post(f"/account/orders/{theirs['id']}/reorder", data={"csrf_token": token})
    assert response.status_code == 404
    me = data(await client.get("/api/v1/cart", headers=other.headers))  # bob's cart was emptied by checkout
    assert me["items"] == []


async def test_reorder_puts_the_lines_back_and_names_what_is_gone(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shopper, token = await customer(client)
    order = await place_order(client, ctx, shopper, ("Linen Shirt", "Wool Socks"))
    async with ctx.db.session() as session:
        await session.execute(update(Product).where(Product.name == "Wool Socks").values(status="archived"))

    refused = await client.post(f"/account/orders/{order['id']}/reorder")
    assert refused.status_code == 403
    assert data(await client.get("/api/v1/cart", headers=shopper.headers))["items"] == []

    response = await client.post(f"/account/orders/{order['id']}/reorder", data={"csrf_token": token})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"/account/orders/{order['id']}?reordered=1&skipped=")
    cart = data(await client.get("/api/v1/cart", headers=shopper.headers))
    assert [(item["product_name"], item["quantity"]) for item in cart["items"]] == [("Linen Shirt", 1)]

    page = await client.get(location)
    assert "1 item from this order was put back in your cart." in page.text
    assert re.search(r"No longer available, so left out:.*Wool Socks", page.text, re.S)
    # A hostile query only changes what the notice says about this order's own lines.
    assert (await client.get(f"/account/orders/{order['id']}?skipped=1;drop")).status_code == 422
    assert (await client.get(f"/account/orders/{order['id']}?reordered=-1")).status_code == 422


# Export and deletion ------------------------------------------------------------------------------------


async def test_export_downloads_the_customers_data(client: httpx.AsyncClient, ctx: AppContext) -> None:
    shopper, token = await customer(client)
    await client.post("/account/addresses", data=address_form(token))
    order = await place_order(client, ctx, shopper)
    response = await client.get("/account/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith('attachment; filename="emporium-export-')
    assert response.headers["cache-control"] == "private, no-store"
    exported = json.loads(response.content)["data"]
    text = json.dumps(exported)
    assert "ada@example.com" in text
    assert "Lovelace" in text
    assert "St James" in text
    assert order["number"] in text


async def test_delete_the_account_signs_out_for_good(client: httpx.AsyncClient, ctx: AppContext) -> None:
    shopper, token = await customer(client)
    me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    old_cookie = client.cookies.get("shop_session")
    assert old_cookie

    wrong = await client.post(
        "/account/delete", data={"password": "not it", "confirm": "on", "csrf_token": token}
    )
    assert wrong.status_code == 422
    assert field_error(wrong.text, "delete-password") == "The password is not correct."
    unconfirmed = await client.post(
        "/account/delete", data={"password": STRONG_PASSWORD, "csrf_token": token}
    )
    assert unconfirmed.status_code == 422
    assert "Tick the box" in field_error(unconfirmed.text, "delete-confirm")
    no_csrf = await client.post("/account/delete", data={"password": STRONG_PASSWORD, "confirm": "on"})
    assert no_csrf.status_code == 403
    assert (await client.get("/account")).status_code == 200

    done = await client.post(
        "/account/delete", data={"password": STRONG_PASSWORD, "confirm": "on", "csrf_token": token}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/account/deleted"
    assert 'shop_session=""' in done.headers["set-cookie"] or "Max-Age=0" in done.headers["set-cookie"]
    assert "personal data erased" in (await client.get("/account/deleted")).text
    async with ctx.db.session() as session:
        user = await session.get(User, me["id"])
        assert user is not None
        assert (user.is_active, user.first_name, user.email.startswith("erased-")) == (False, None, True)

    # The old cookie, sent again, no longer signs anyone in.
    client.cookies.set("shop_session", old_cookie)
    assert (await client.get("/account")).status_code == 303
    assert (await client.get("/api/v1/users/profile", headers=shopper.headers)).status_code == 401


@pytest.mark.parametrize(
    "path", ["/account/register", "/account/forgot-password", "/account/reset-password?token=" + "a" * 43]
)
async def test_signed_out_pages_have_no_inline_script_or_style(client: httpx.AsyncClient, path: str) -> None:
    html = (await client.get(path)).text
    assert csrf_token(html)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert " style=" not in html
    assert "<style" not in html
    assert re.search(r" on[a-z]+=", html) is None
