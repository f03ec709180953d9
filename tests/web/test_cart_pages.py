"""Cart, checkout, confirmation and tracking pages, driven over HTTP as a browser would post its forms."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from emporium.app import create_app
from emporium.cart.models import CartItem
from emporium.core.context import AppContext
from emporium.orders.models import Order
from tests.conftest import sign_up
from tests.inventory.factory import Made, make_product
from tests.orders.factory import make_coupon, make_shipping, make_tax
from tests.support import asgi_client, count_statements
from tests.web.conftest import csrf_token

GUEST = {
    "contact_name": "Ada Lovelace",
    "contact_phone": "+44 20 7946 0018",
    "contact_email": "ada@example.com",
}
ADDRESS = {
    "address_full_name": "Ada Lovelace",
    "address_line1": "12 St James's Square",
    "address_city": "Washington",
    "address_region": "DC",
    "address_postal_code": "20001",
    "address_country": "US",
}
CHECKOUT_KEY = re.compile(r'name="checkout_key" value="([A-Za-z0-9_-]+)"')


async def seed(ctx: AppContext, *, on_hand: int = 10, price: str = "20.00") -> tuple[Made, int]:
    async with ctx.db.session() as session:
        made = await make_product(session, "Linen Apron", prices=(price,), on_hand=on_hand)
        method = await make_shipping(session, price="5.00", name="Standard post")
        await make_tax(session, "US", "10")
        await make_coupon(session, "WELCOME10", usage_limit=10)
        await session.commit()
    return made, method.id


async def token(client: httpx.AsyncClient) -> str:
    response = await client.get("/cart")
    assert response.status_code == 200, response.text
    return csrf_token(response.text)


async def add(client: httpx.AsyncClient, variant_id: int | str, quantity: Any = 1) -> httpx.Response:
    body = {"csrf_token": await token(client), "variant_id": str(variant_id), "quantity": str(quantity)}
    return await client.post("/cart/add", data=body)


async def units_in_carts(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int(
            (await session.execute(select(func.coalesce(func.sum(CartItem.quantity), 0)))).scalar_one()
        )


async def order_count(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(Order))).scalar_one())


def line_id(html: str) -> int:
    found = re.search(r'action="/cart/items/([0-9]+)"', html)
    assert found, "no cart line on the page"
    return int(found.group(1))


async def test_add_update_remove_and_the_mini_cart(client: httpx.AsyncClient, ctx: AppContext) -> None:
    made, _ = await seed(ctx)
    variant = made.variants[0]
    response = await add(client, variant.id, 2)
    assert response.status_code == 303
    assert response.headers["location"] == "/cart"
    cookie = response.headers["set-cookie"]
    assert "cart_token=" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()

    page = await client.get("/cart")
    html = page.text
    assert "Linen Apron" in html
    assert "$40.00" in html
    assert 'id="cart-count" aria-label="2 items in your cart">2<' in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert " style=" not in html

    item = line_id(html)
    updated = await client.post(f"/cart/items/{item}", data={"csrf_token": csrf_token(html), "quantity": "3"})
    assert updated.status_code == 303
    assert "$60.00" in (await client.get("/cart")).text

    removed = await client.post(f"/cart/items/{item}/remove", data={"csrf_token": csrf_token(html)})
    assert removed.status_code == 303
    html = (await client.get("/cart")).text
    assert "Your cart is empty." in html
    assert 'aria-label="0 items in your cart"' in html


async def test_htmx_add_answers_with_the_mini_cart(client: httpx.AsyncClient, ctx: AppContext) -> None:
    made, _ = await seed(ctx)
    csrf = await token(client)
    response = await client.post(
        "/cart/add",
        data={"variant_id": str(made.variants[0].id), "quantity": "2"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert response.status_code == 200
    assert 'id="cart-count" hx-swap-oob="true"' in response.text
    assert ">2</span>" in response.text
    assert "<header" not in response.text


@pytest.mark.parametrize("quantity", ["0", "-1", "abc", "1.5", "1e3", "9999999", " ", "1; DROP TABLE carts"])
async def test_hostile_quantities_change_nothing(
    client: httpx.AsyncClient, ctx: AppContext, quantity: str
) -> None:
    made, _ = await seed(ctx)
    response = await add(client, made.variants[0].id, quantity)
    assert 400 <= response.status_code < 500
    assert "<html" in response.text  # the shop's error page, not a JSON body
    assert await units_in_carts(ctx) == 0

    await add(client, made.variants[0].id, 1)
    html = (await client.get("/cart")).text
    item = line_id(html)
    refused = await client.post(
        f"/cart/items/{item}", data={"csrf_token": csrf_token(html), "quantity": quantity}
    )
    assert refused.status_code == 422
    assert "Enter a whole number" in refused.text
    assert await units_in_carts(ctx) == 1


async def test_unknown_variant_out_of_stock_and_hostile_ids(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    made, _ = await seed(ctx, on_hand=2)
    assert (await add(client, 987654, 1)).status_code == 404
    short = await add(client, made.variants[0].id, 3)
    assert short.status_code == 409
    assert "Only 2 can be added." in short.text
    assert (await add(client, "1 OR 1=1", 1)).status_code == 422
    assert await units_in_carts(ctx) == 0
    assert "cart_token" not in client.cookies  # no empty guest cart was left behind

    html = (await client.get("/cart")).text
    for path in ("/cart/items/99999999/remove", "/cart/items/0/remove", "/cart/items/abc/remove"):
        response = await client.post(path, data={"csrf_token": csrf_token(html)})
        assert response.status_code in (404, 422), path
    assert (await client.get("/cart?country=ZZZ")).status_code == 422
    assert (await client.get("/cart?shipping_method_id=-4")).status_code == 422


async def test_update_beyond_stock_is_shown_by_the_line(client: httpx.AsyncClient, ctx: AppContext) -> None:
    made, _ = await seed(ctx, on_hand=3)
    await add(client, made.variants[0].id, 1)
    html = (await client.get("/cart")).text
    response = await client.post(
        f"/cart/items/{line_id(html)}", data={"csrf_token": csrf_token(html), "quantity": "5"}
    )
    assert response.status_code == 409
    assert "Only 3 can be added." in response.text
    assert 'aria-invalid="true"' in response.text
    assert await units_in_carts(ctx) == 1


async def test_missing_csrf_token_is_refused(client: httpx.AsyncClient, ctx: AppContext) -> None:
    made, _ = await seed(ctx)
    await client.get("/cart")
    refused = await client.post("/cart/add", data={"variant_id": str(made.variants[0].id), "quantity": "1"})
    assert refused.status_code == 403
    forged = await client.post(
        "/cart/add", data={"variant_id": str(made.variants[0].id), "quantity": "1", "csrf_token": "x" * 43}
    )
    assert forged.status_code == 403
    assert await units_in_carts(ctx) == 0
    refused_order = await client.post("/checkout/place", data={**GUEST, **ADDRESS})
    assert refused_order.status_code == 403


async def test_coupon_apply_refuse_and_remove(client: httpx.AsyncClient, ctx: AppContext) -> None:
    made, method_id = await seed(ctx)
    await add(client, made.variants[0].id, 2)
    csrf = await token(client)
    bad = await client.post("/cart/coupon", data={"csrf_token": csrf, "code": "NOPE<b>"})
    assert bad.status_code == 422
    assert "This coupon code is not valid." in bad.text
    assert 'value="NOPE&lt;b&gt;"' in bad.text  # kept, escaped

    good = await client.post("/cart/coupon", data={"csrf_token": csrf, "code": "welcome10"})
    assert good.status_code == 303
    html = (await client.get(f"/cart?country=US&shipping_method_id={method_id}")).text
    assert "WELCOME10" in html
    assert "\u2212$4.00" in html  # 10% of $40.00
    assert "$3.60" in html  # 10% tax on $36.00
    assert "$44.60" in html  # 36.00 + 3.60 + 5.00 shipping
    assert "Standard post" in html

    removed = await client.post("/cart/coupon/remove", data={"csrf_token": csrf})
    assert removed.status_code == 303
    assert "WELCOME10" not in (await client.get("/cart")).text


async def test_cart_page_sql_budget(client: httpx.AsyncClient, ctx: AppContext) -> None:
    made, method_id = await seed(ctx)
    await add(client, made.variants[0].id, 2)
    with count_statements(ctx.db.engine) as statements:
        response = await client.get(f"/cart?country=US&shipping_method_id={method_id}")
    assert response.status_code == 200
    assert len(statements) <= 12, statements


async def review(client: httpx.AsyncClient, **extra: str) -> httpx.Response:
    body = {"csrf_token": await token(client), **GUEST, **ADDRESS, **extra}
    return await follow(client, await client.post("/checkout/review", data=body))


async def follow(client: httpx.AsyncClient, posted: httpx.Response) -> httpx.Response:
    """A checkout post keeps what it was given and redirects to the page that shows it."""
    return await client.get(posted.headers["location"]) if posted.status_code == 303 else posted


def review_form(html: str) -> dict[str, str]:
    """What the review page's form would post: its hidden and checked fields."""
    fields = dict(re.findall(r'<input type="hidden" name="([a-z0-9_]+)" value="([^"]*)"', html))
    for name in ("shipping_method_id", "payment_method"):
        found = re.search(rf'name="{name}" value="([^"]+)" checked', html)
        assert found, name
        fields[name] = found.group(1)
    return {k: v.replace("&#39;", "'") for k, v in fields.items()}


async def test_guest_checkout_double_submit_places_one_order(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    made, _method_id = await seed(ctx)
    await add(client, made.variants[0].id, 2)

    missing = await review(client, contact_email="not-an-email", address_city="")
    assert missing.status_code == 422
    assert 'id="f-contact_email-error"' in missing.text
    assert 'id="f-address_city-error"' in missing.text
    assert 'value="Ada Lovelace"' in missing.text  # what was typed is kept

    page = await review(client)
    assert page.status_code == 200, re.findall(r"(?:field__error|notice)[^>]*>([^<]*)<", page.text)
    assert "$49.00" in page.text  # 40.00 + 4.00 tax + 5.00 shipping, from the server
    form = review_form(page.text)
    assert CHECKOUT_KEY.search(page.text)
    form["payment_method"] = "cash_on_delivery"
    first = await client.post("/checkout/place", data=form)
    again = await client.post("/checkout/place", data=form)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert re.fullmatch(r"/orders/ORD-\d{4}-\d{6}/thanks", first.headers["location"])
    assert await order_count(ctx) == 1
    assert "HttpOnly" in first.headers["set-cookie"]

    thanks = await client.get(first.headers["location"])
    assert thanks.status_code == 200
    assert "Thank you for your order" in thanks.text
    assert "Pay when your order is delivered." in thanks.text
    assert 'aria-label="0 items in your cart"' in thanks.text  # the cart was emptied

    # Another guest (another browser) cannot see it, nor can a made-up cookie.
    async with asgi_client(create_app(ctx=ctx)) as other:
        assert (await other.get(first.headers["location"])).status_code == 404
        other.cookies.set("shop_orders", "1." + "0" * 64)
        assert (await other.get(first.headers["location"])).status_code == 404
    assert (await client.get("/orders/ORD-2000-999999/thanks")).status_code == 404


async def test_checkout_with_the_test_gateway_goes_to_its_payment_page(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    made, _ = await seed(ctx)
    await add(client, made.variants[0].id, 1)
    form = review_form((await review(client)).text)
    assert form["payment_method"] == "test"
    placed = await client.post("/checkout/place", data=form)
    assert placed.status_code == 303
    assert placed.headers["location"].startswith("/pay/test/")
    replay = await client.post("/checkout/place", data=form)
    assert replay.headers["location"] == placed.headers["location"]  # the same open payment
    assert await order_count(ctx) == 1

    # Paying with a declined card, then coming back: the order is kept and says so.
    pay_page = placed.headers["location"]
    declined = await client.post(
        pay_page, data={"number": "4000 0000 0000 0002", "expiry": "12/34", "cvc": "123"}
    )
    async with ctx.db.session() as session:
        order = (await session.execute(select(Order))).scalar_one()
    # The payment page sends the shopper back by itself once the card's outcome is known.
    assert declined.status_code == 303
    assert declined.headers["location"] == f"http://shop.test/orders/{order.id}/paid"
    back = await client.get(f"/orders/{order.id}/paid")
    assert back.status_code == 303
    waiting = await client.get(back.headers["location"])
    assert "waiting for the payment to be confirmed" in waiting.text
    assert 'hx-trigger="every 2s"' in waiting.text
    # The gateway's webhook is delivered as a job, which queues the job that applies it.
    assert await ctx.jobs.run_once() >= 1
    for _ in range(5):
        if not await ctx.jobs.run_once():
            break
    status = await client.get(f"/orders/{order.number}/status")
    assert "Your card was declined." in status.text
    assert "<header" not in status.text
    assert "hx-trigger" not in status.text  # settled: no more polling
    thanks = await client.get(back.headers["location"], follow_redirects=True)
    assert thanks.url.path == f"/orders/{order.number}/payment-failed"
    assert "Your card was declined." in thanks.text
    assert "Try again" in thanks.text
    retry = await client.post(f"/orders/{order.number}/pay", data={"csrf_token": csrf_token(thanks.text)})
    assert retry.status_code == 303
    assert retry.headers["location"].startswith("/pay/test/")
    assert retry.headers["location"] != pay_page


async def test_checkout_without_a_cart_goes_back_to_the_cart(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    response = await client.get("/checkout")
    assert response.status_code == 303
    assert response.headers["location"] == "/cart"
    csrf = await token(client)
    expired = await client.post("/checkout/place", data={"csrf_token": csrf, "checkout_key": "short"})
    assert expired.status_code == 404


async def test_tracking(client: httpx.AsyncClient, ctx: AppContext) -> None:
    made, _ = await seed(ctx)
    await add(client, made.variants[0].id, 1)
    form = review_form((await review(client)).text)
    form["payment_method"] = "cash_on_delivery"
    placed = await client.post("/checkout/place", data=form)
    number = placed.headers["location"].split("/")[2]

    async with asgi_client(create_app(ctx=ctx)) as stranger:
        found = await stranger.get("/track", params={"order_number": number, "contact": "ADA@example.com"})
        assert found.status_code == 200
        assert f"Order {number}" in found.text
        assert "Linen Apron" in found.text
        assert "12 St James" not in found.text  # no address for a tracker
        by_phone = await stranger.get("/track", params={"order_number": number, "contact": "442079460018"})
        assert by_phone.status_code == 200

        wrong_contact = await stranger.get(
            "/track", params={"order_number": number, "contact": "ada@example.com".replace("ada", "eve")}
        )
        wrong_number = await stranger.get(
            "/track", params={"order_number": "ORD-2000-000001", "contact": "ada@example.com"}
        )
        assert wrong_contact.status_code == wrong_number.status_code == 404
        assert "We could not find an order" in wrong_contact.text
        # The same page either way, but for the values typed in.
        same = wrong_contact.text.replace(number, "N").replace("eve@", "ada@")
        assert same == wrong_number.text.replace("ORD-2000-000001", "N")

        hostile = await stranger.get("/track", params={"order_number": "<script>", "contact": "x\x00y"})
        assert hostile.status_code == 422
        assert "<script>" not in hostile.text
        assert (await stranger.get("/orders/track")).headers["location"] == "/track"
        prefilled = await stranger.get("/track", params={"order_number": number})
        assert prefilled.status_code == 200
        assert f'value="{number}"' in prefilled.text


async def test_tracking_is_rate_limited(make_context: Any) -> None:
    context = make_context(order_track_rate_limit="2/minute")
    async with asgi_client(create_app(ctx=context)) as client:
        params = {"order_number": "ORD-2000-000001", "contact": "ada@example.com"}
        assert (await client.get("/track", params=params)).status_code == 404
        assert (await client.get("/track", params=params)).status_code == 404
        limited = await client.get("/track", params=params)
        assert limited.status_code == 429
        assert "Retry-After" in limited.headers


async def test_signed_in_checkout_with_a_saved_address(client: httpx.AsyncClient, ctx: AppContext) -> None:
    made, _ = await seed(ctx)
    shopper = await sign_up(client, "grace@example.com", first_name="Grace")
    address: dict[str, Any] = {"full_name": "Grace Hopper", "line1": "1 Navy Yard", "city": "Arlington"}
    address |= {"region": "VA", "postal_code": "22202", "country": "US", "is_default": True}
    saved = await client.post("/api/v1/users/addresses", json=address, headers=shopper.headers)
    assert saved.status_code == 201, saved.text
    client.headers.pop("Authorization", None)
    signed = await client.post(
        "/account/sign-in",
        data={"csrf_token": await token(client), "email": shopper.email, "password": shopper.password},
    )
    assert signed.status_code == 303
    await add(client, made.variants[0].id, 1)

    details = await client.get("/checkout")
    assert "1 Navy Yard" in details.text
    assert 'name="contact_email"' not in details.text  # the account's contact is used
    body = {"csrf_token": csrf_token(details.text), "address_id": str(saved.json()["data"]["id"])}
    form = review_form((await follow(client, await client.post("/checkout/review", data=body))).text)
    form["payment_method"] = "cash_on_delivery"
    placed = await client.post("/checkout/place", data=form)
    assert placed.status_code == 303
    assert "shop_orders" not in placed.headers.get("set-cookie", "")  # the account is the key
    thanks = await client.get(placed.headers["location"])
    assert thanks.status_code == 200
    assert "grace@example.com" in thanks.text

    # Somebody else's saved address id is refused like an unknown one.
    await add(client, made.variants[0].id, 1)
    other = {"csrf_token": csrf_token(thanks.text), "address_id": "99999"}
    assert (await client.post("/checkout/review", data=other)).status_code == 422
