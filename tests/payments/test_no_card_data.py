"""After card payments of every kind, no Luhn-valid card number is anywhere in the database or the logs;
every free-text field of the API and of the storefront's forms refuses one (422 CARD_DATA_REFUSED)."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import JSON, String, Text, select

from emporium.core.card_numbers import MESSAGE as CARD_MESSAGE
from emporium.core.context import AppContext
from emporium.core.db import Base
from emporium.payments.gateways.test.gateway import luhn_valid
from tests.conftest import Shopper, sign_up
from tests.inventory.factory import make_product, staff_headers
from tests.orders.factory import ADDRESS, GUEST, make_cart, make_shipping, order_body
from tests.payments.conftest import guest_order, pay_with, pool, start_payment
from tests.support import STRONG_PASSWORD, data, error
from tests.web.conftest import csrf_token, token_of
from tests.web.test_account_pages import web_sign_in

# A run of 13 to 19 digits (spaces or dashes allowed) standing on its own: digits inside a longer run of
# letters and digits are part of an id, a digest or a token (a uuid's hex can hold 13 digits in a row).
CARD_LIKE = re.compile(r"(?<![0-9A-Za-z])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z])")


def _card_numbers(text: str) -> list[str]:
    found = []
    for match in CARD_LIKE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if luhn_valid(digits):
            found.append(digits)
    return found


async def test_no_card_number_is_kept(
    client: httpx.AsyncClient, ctx: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    for number in ("4242 4242 4242 4242", "4000000000000002", "4000 0027 6000 3184", "4111111111111111"):
        placed = await guest_order(client, ctx)
        payment = await start_payment(client, placed)
        await pay_with(client, payment, number)
        await client.post(
            "/api/v1/payments/create-intent", json={"order_id": placed.order["id"], "card_number": number}
        )
    await ctx.jobs.run_until_idle()

    leaks = []
    async with ctx.db.session() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not columns:
                continue
            for row in (await session.execute(select(*columns))).all():
                for value in row:
                    leaks += [(table.name, n) for n in _card_numbers(str(value))]
    assert leaks == []
    out = capsys.readouterr()
    assert _card_numbers(out.out + out.err) == []


# Free text ------------------------------------------------------------------------------------------------

# Written the ways people write them: alone, in a sentence, with dashes, dots or spaces, 15 and 16 digits.
CARDS = (
    "4242 4242 4242 4242",
    "my card is 4111-1111-1111-1111 exp 12/30",
    "5555555555554444",
    "Amex 3782 822463 10005 please",
    "4000.0566.5566.5556",
)


def _card(n: int, field: str = "") -> str:
    # A postal code holds 20 characters at most: the bare number.
    return "5555555555554444" if field == "postal_code" else CARDS[n % len(CARDS)]


def _scan(rows: list[Any]) -> list[str]:
    return [n for row in rows for value in row for n in _card_numbers(str(value))]


async def _leaks(ctx: AppContext) -> list[tuple[str, str]]:
    leaks: list[tuple[str, str]] = []
    async with ctx.db.session() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if columns:
                rows = list((await session.execute(select(*columns))).all())
                leaks += [(table.name, n) for n in _scan(rows)]
    return leaks


def _refused(response: httpx.Response, field: str) -> None:
    body = error(response, 422)
    assert body["code"] == "CARD_DATA_REFUSED", body
    assert field in [d["field"] for d in body["details"]], body
    assert "card number" in body["message"]
    assert not _card_numbers(response.text), "the refusal repeats the number"


async def test_every_free_text_field_of_the_api_refuses_a_card_number(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    staff = await staff_headers(client, ctx, email="card-staff@example.com", role="admin")
    placed = await guest_order(client, ctx, payment_method="cash_on_delivery")
    order_id = placed.order["id"]
    async with ctx.db.session() as session:
        made = await make_product(session, "Card test tee", prices=("5.00",), on_hand=3)
        method = await make_shipping(session)
        token = await make_cart(session, [(made.variants[0], 1)])
    saved = data(await client.post("/api/v1/users/addresses", json=ADDRESS, headers=shopper.headers), 201)
    guest_cart = {"X-Cart-Token": token}

    def order(**changes: Any) -> dict[str, Any]:
        return order_body(method.id, payment_method="cash_on_delivery", **changes)

    cases: list[tuple[str, str, str, dict[str, Any], dict[str, str]]] = [
        ("note", "POST", "/api/v1/orders", order(note=_card(0)), guest_cart),
        ("guest.name", "POST", "/api/v1/orders", order(guest={**GUEST, "name": _card(1)}), guest_cart),
    ]
    for n, field in enumerate(("full_name", "line1", "line2", "city", "region", "postal_code")):
        address = {**ADDRESS, field: _card(n, field)}
        cases.append(
            (
                f"shipping_address.{field}",
                "POST",
                "/api/v1/orders",
                order(shipping_address=address),
                guest_cart,
            )
        )
        cases.append(
            ("billing_address." + field, "POST", "/api/v1/orders", order(billing_address=address), guest_cart)
        )
        cases.append((field, "POST", "/api/v1/users/addresses", address, shopper.headers))
        cases.append(
            (
                field,
                "PUT",
                f"/api/v1/users/addresses/{saved['id']}",
                {field: _card(n + 1, field)},
                shopper.headers,
            )
        )
    cases += [
        ("label", "POST", "/api/v1/users/addresses", {**ADDRESS, "label": _card(2)}, shopper.headers),
        ("first_name", "PUT", "/api/v1/users/profile", {"first_name": _card(3)}, shopper.headers),
        ("last_name", "PUT", "/api/v1/users/profile", {"last_name": _card(4)}, shopper.headers),
        (
            "first_name",
            "POST",
            "/api/v1/auth/register",
            {"email": "carded@example.com", "password": STRONG_PASSWORD, "first_name": _card(0)},
            {},
        ),
        (
            "last_name",
            "POST",
            "/api/v1/auth/register",
            {"email": "carded@example.com", "password": STRONG_PASSWORD, "last_name": _card(1)},
            {},
        ),
        ("reason", "PUT", f"/api/v1/orders/{order_id}/cancel", {"reason": _card(2)}, placed.headers),
        ("note", "PUT", f"/api/v1/admin/orders/{order_id}", {"note": _card(3)}, staff),
        ("carrier", "PUT", f"/api/v1/admin/orders/{order_id}", {"carrier": _card(4)}, staff),
        (
            "reason",
            "POST",
            f"/api/v1/inventory/pools/{made.pools[0].id}/adjustments",
            {"delta": 1, "reason": _card(0)},
            staff,
        ),
        (
            "pools.0.reason",
            "PUT",
            f"/api/v1/inventory/product/{made.product.id}",
            {"pools": [{"pool_id": made.pools[0].id, "on_hand": 4, "reason": _card(1)}]},
            staff,
        ),
        ("reason", "POST", "/api/v1/payments/refund", {"order_id": order_id, "reason": _card(1)}, staff),
    ]
    for field, method_, url, body, headers in cases:
        response = await client.request(method_, url, json=body, headers=headers)
        _refused(response, field)

    # Nothing of it was kept: no order, profile, address, stock change or event holds a card number, and the
    # stock and the order are as they were.
    assert await _leaks(ctx) == []
    assert await pool(ctx, made.pools[0].id) == (3, 0)
    assert data(await client.get(f"/api/v1/orders/{order_id}", headers=placed.headers))["status"] == "pending"


async def test_free_text_without_a_card_number_is_kept(client: httpx.AsyncClient, shopper: Shopper) -> None:
    # Digits that are not a card: a phone written with its +, a short number, a long id glued to letters.
    note = "Call +86 138 0013 8000 on arrival; flat 12, door code 4711; ref AB4242424242424242"
    updated = data(
        await client.put(
            "/api/v1/users/profile",
            json={"first_name": "Ada 2nd", "last_name": note[:100]},
            headers=shopper.headers,
        )
    )
    assert updated["last_name"] == note[:100]


async def test_storefront_forms_refuse_a_card_number_with_a_human_message(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    message = html.escape(CARD_MESSAGE, quote=True)

    def shown(response: httpx.Response) -> None:
        assert response.status_code == 422, response.text
        assert message in response.text
        assert not _card_numbers(response.text), "the form shown again repeats the number"

    token = await token_of(client, "/account/register")
    shown(
        await client.post(
            "/account/register",
            data={
                "email": "form@example.com",
                "password": STRONG_PASSWORD,
                "first_name": _card(0),
                "csrf_token": token,
            },
        )
    )
    await sign_up(client, "formed@example.com")
    token = await web_sign_in(client, "formed@example.com")
    shown(await client.post("/account/profile", data={"last_name": _card(1), "csrf_token": token}))
    address = {f"{k}": v for k, v in ADDRESS.items()}
    for n, field in enumerate(("full_name", "line1", "line2", "city", "postal_code")):
        shown(
            await client.post(
                "/account/addresses", data={**address, field: _card(n, field), "csrf_token": token}
            )
        )
    assert await _leaks(ctx) == []


async def test_the_guest_checkout_form_refuses_a_card_number(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        made = await make_product(session, "Form tee", prices=("5.00",), on_hand=3)
        await make_shipping(session)
        await session.commit()
    csrf = csrf_token((await client.get("/cart")).text)
    added = await client.post(
        "/cart/add", data={"csrf_token": csrf, "variant_id": str(made.variants[0].id), "quantity": "1"}
    )
    assert added.status_code == 303, added.text
    details = {
        "contact_name": "Ada Lovelace",
        "contact_phone": "+1 202 555 0199",
        "contact_email": "ada@example.com",
        "address_full_name": "Ada Lovelace",
        "address_line1": "1 Analytical Way",
        "address_city": "Arlington",
        "address_region": "VA",
        "address_postal_code": "22202",
        "address_country": "US",
    }
    for n, field in enumerate(
        ("contact_name", "address_full_name", "address_line1", "address_line2", "address_city")
    ):
        response = await client.post(
            "/checkout/review", data={**details, field: _card(n), "csrf_token": csrf}
        )
        assert response.status_code == 422, response.text
        assert html.escape(CARD_MESSAGE, quote=True) in response.text
        assert not _card_numbers(response.text), "the form shown again repeats the number"
    assert await _leaks(ctx) == []
