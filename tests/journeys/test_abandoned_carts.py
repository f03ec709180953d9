"""Abandoned carts: the periodic scan with a moved clock, the signed recovery link, one-click unsubscribe."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.app import create_app
from emporium.cart.models import Cart
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.notify import Recipient
from emporium.journeys.abandoned import abandoned_carts, recovery_url
from emporium.journeys.models import CartContact
from emporium.journeys.repository import JourneyRepository
from emporium.journeys.tasks import scan
from emporium.notifications import preferences
from tests.conftest import Shopper, sign_up
from tests.inventory.factory import make_product
from tests.journeys.helpers import planned
from tests.orders.factory import make_cart, make_shipping
from tests.support import asgi_client, data
from tests.web.conftest import csrf_token
from tests.web.test_cart_pages import add, review, seed

EVENT = "cart.abandoned"
HOUR = timedelta(hours=1)
ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "Washington",
    "region": "DC",
    "postal_code": "20001",
    "country": "US",
}


async def _customer_cart(ctx: AppContext, shopper: Shopper, *, on_hand: int = 5) -> int:
    me = data(await shopper.client.get("/api/v1/users/profile", headers=shopper.headers))
    async with ctx.db.session() as session:
        made = await make_product(session, f"Left tee {on_hand}", prices=("15.00",), on_hand=on_hand)
        await make_cart(session, [(made.variants[0], 1)], user_id=me["id"])
        cart = (await session.execute(select(Cart).where(Cart.user_id == me["id"]))).scalar_one()
    return cart.id


async def test_a_customer_is_reminded_after_an_hour_and_after_a_day_once_each(
    ctx: AppContext, shopper: Shopper
) -> None:
    cart_id = await _customer_cart(ctx, shopper)
    start = utcnow()
    assert await scan(ctx, start + 30 * timedelta(minutes=1)) == 0
    assert await scan(ctx, start + HOUR + timedelta(minutes=1)) == 1
    [first] = await planned(ctx, EVENT)
    assert first["key"] == f"cart.abandoned:{cart_id}:1"
    me = data(await shopper.client.get("/api/v1/users/profile", headers=shopper.headers))
    assert first["recipients"] == [{"user_id": me["id"], "email": None, "phone": None, "locale": None}]
    context = first["context"]
    assert context["reminder"] == 1
    assert context["items"] == [{"name": context["items"][0]["name"], "quantity": 1}]
    assert first["link"] == context["cart_url"]
    assert context["unsubscribe_url"].startswith("http://shop.test/u/")
    assert context["email_headers"] == {
        "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    # No personal data in either link: only a row id, an expiry and a signature.
    for url in (context["cart_url"], context["unsubscribe_url"]):
        assert "ada" not in url.lower()
        assert "@" not in url

    assert await scan(ctx, start + 2 * HOUR) == 0  # scanned again: nothing new
    assert await scan(ctx, start + 24 * HOUR + timedelta(minutes=1)) == 1
    assert await scan(ctx, start + 25 * HOUR) == 0
    keys = [p["key"] for p in await planned(ctx, EVENT)]
    assert keys == [f"cart.abandoned:{cart_id}:1", f"cart.abandoned:{cart_id}:2"]
    assert [p["context"]["reminder"] for p in await planned(ctx, EVENT)] == [1, 2]


async def test_an_ordered_cart_an_empty_stock_and_a_silent_guest_are_left_alone(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    await _customer_cart(ctx, shopper)
    async with ctx.db.session() as session:
        method = await make_shipping(session, price="5.00")
    body = {
        "shipping_address": ADDRESS,
        "shipping_method_id": method.id,
        "payment_method": "cash_on_delivery",
    }
    data(await client.post("/api/v1/orders", json=body, headers=shopper.headers), 201)
    # Sold out: the pool's stock is all reserved by nobody else's cart, so nothing in it can be bought.
    other = await sign_up(client, "grace@example.com")
    await _customer_cart(ctx, other, on_hand=0)
    async with ctx.db.session() as session:
        sweet = await make_product(session, "Guest sweet", prices=("3.00",))
        await make_cart(session, [(sweet.variants[0], 2)])  # a guest who gave no e-mail
    later = utcnow() + 2 * HOUR
    assert await scan(ctx, later) == 0
    assert await scan(ctx, later + 24 * HOUR) == 0
    assert await planned(ctx, EVENT) == []


async def test_a_guest_who_typed_an_email_at_checkout_gets_the_link_that_brings_the_cart_back(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    made, _ = await seed(ctx)
    await add(client, made.variants[0].id, 2)
    assert (await review(client, contact_email="Guest@Example.com")).status_code == 200
    async with ctx.db.session() as session:
        contact = (await session.execute(select(CartContact))).scalar_one()
    assert contact.email == "guest@example.com"

    assert await scan(ctx, utcnow() + 2 * HOUR) == 1
    [reminder] = await planned(ctx, EVENT)
    assert reminder["recipients"] == [
        {"user_id": None, "email": "guest@example.com", "phone": None, "locale": None}
    ]
    link = urlsplit(reminder["link"]).path

    # Another browser (the phone the e-mail was opened on) gets exactly that cart.
    async with asgi_client(create_app(ctx=ctx)) as phone:
        opened = await phone.get(link)
        assert opened.status_code == 303
        assert opened.headers["location"] == "/cart"
        assert "cart_token=" in opened.headers["set-cookie"]
        cart = data(await phone.get("/api/v1/cart"))
        assert [(i["variant_id"], i["quantity"]) for i in cart["items"]] == [(made.variants[0].id, 2)]
    # The first browser's token was replaced: one cart, one holder.
    assert data(await client.get("/api/v1/cart"))["items"] == []


async def test_a_customers_cart_goes_back_only_to_that_customer(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    cart_id = await _customer_cart(ctx, shopper)
    link = urlsplit(recovery_url(ctx.settings, cart_id, utcnow())).path
    client.headers.pop("Authorization", None)
    anonymous = await client.get(link)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/account/sign-in?next=%2Fr%2F")

    async def sign_in(who: httpx.AsyncClient, email: str, password: str) -> None:
        page = await who.get("/account/sign-in")
        body = {"csrf_token": csrf_token(page.text), "email": email, "password": password}
        assert (await who.post("/account/sign-in", data=body)).status_code == 303

    other = await sign_up(client, "grace@example.com")
    async with asgi_client(create_app(ctx=ctx)) as stranger:
        await sign_in(stranger, other.email, other.password)
        refused = await stranger.get(link)
        assert refused.status_code == 403
        assert "text/html" in refused.headers["content-type"]
        assert "belongs to another account" in refused.text
    async with asgi_client(create_app(ctx=ctx)) as owner:
        await sign_in(owner, shopper.email, shopper.password)
        opened = await owner.get(link)
        assert opened.status_code == 303
        assert opened.headers["location"] == "/cart"
        assert "cart_token=" not in opened.headers.get("set-cookie", "")


async def test_expired_tampered_and_foreign_links_are_refused_with_a_page(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    cart_id = await _customer_cart(ctx, shopper)
    expired = urlsplit(recovery_url(ctx.settings, cart_id, utcnow() - timedelta(days=30))).path
    response = await client.get(expired)
    assert response.status_code == 410
    assert "text/html" in response.headers["content-type"]
    assert "expired" in response.text

    good = urlsplit(recovery_url(ctx.settings, cart_id, utcnow())).path
    payload, signature = good.removeprefix("/r/").split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for bad in (f"/r/{payload}.{flipped}", "/r/nonsense", f"/r/{payload}", "/r/" + "a" * 300, "/r/%00.x"):
        refused = await client.get(bad)
        assert 400 <= refused.status_code < 500, (bad, refused.status_code)
    tampered = await client.get(f"/r/{payload}.{flipped}")
    assert tampered.status_code == 400
    assert "not valid" in tampered.text
    # A token signed for another purpose (the unsubscribe link) opens no cart.
    assert await scan(ctx, utcnow() + 2 * HOUR) == 1
    [reminder] = await planned(ctx, EVENT)
    token = urlsplit(reminder["context"]["unsubscribe_url"]).path.removeprefix("/u/")
    assert (await client.get(f"/r/{token}")).status_code == 400


async def test_one_click_unsubscribe_posts_without_cookies(ctx: AppContext, shopper: Shopper) -> None:
    await _customer_cart(ctx, shopper)
    assert await scan(ctx, utcnow() + 2 * HOUR) == 1
    [reminder] = await planned(ctx, EVENT)
    path = urlsplit(reminder["context"]["unsubscribe_url"]).path
    me = Recipient(user_id=reminder["recipients"][0]["user_id"])
    async with ctx.db.session() as session:  # the customer opted in to cart reminders
        await preferences.choose(session, me.user_id, "abandoned_cart", "email", True, source="account")
    async with asgi_client(create_app(ctx=ctx)) as mail_client:
        shown = await mail_client.get(path)  # a person (or a scanner) opening the link changes nothing
        assert shown.status_code == 200
        assert f'action="{path}"' in shown.text
        async with ctx.db.session() as session:
            assert await _accepts(session, me, "abandoned_cart")
        mail_client.cookies.clear()
        posted = await mail_client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert posted.status_code == 200, posted.text
        assert "no more reminders about carts" in posted.text
        again = await mail_client.post(path, content=b"List-Unsubscribe=One-Click")
        assert again.status_code == 200
        for bad in (path[:-3] + "xyz", "/u/nope", "/u/" + "b" * 250):
            assert 400 <= (await mail_client.post(bad)).status_code < 500
    async with ctx.db.session() as session:
        assert not await _accepts(session, me, "abandoned_cart")
        assert await _accepts(session, me, "back_in_stock")


async def _accepts(session: AsyncSession, recipient: Recipient, category: str) -> bool:
    """Whether ``recipient`` takes ``category`` by e-mail now (their choices, else the defaults)."""
    choices = await preferences.choices_of(session, preferences.recipient_key(recipient))
    return preferences.accepts(choices, category, "email")


async def test_a_reminder_is_recorded_once_whoever_writes_it_first(ctx: AppContext, shopper: Shopper) -> None:
    cart_id = await _customer_cart(ctx, shopper)
    later = utcnow() + 2 * HOUR
    async with ctx.db.session() as session:
        # Another process's scan wrote reminder 1 first: the unique key leaves this one nothing to send.
        assert await JourneyRepository(session).record_reminder(cart_id, 1, later)
        batch = await abandoned_carts.scan(session, ctx.settings, later, after_id=0)
    assert (batch.looked_at, batch.reminded) == (0, 0)
    async with ctx.db.session() as session:
        assert not await JourneyRepository(session).record_reminder(cart_id, 1, later)
    assert await planned(ctx, EVENT) == []
