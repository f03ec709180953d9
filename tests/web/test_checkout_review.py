"""The review page and "Place order", over HTTP as a browser posts its forms: the total charged is the total
the page showed, and a refusal comes back to the review page with what changed, nothing reserved."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from emporium.orders.models import Order
from emporium.orders.seen_quote import SeenLine, SeenQuote
from emporium.pricing.models import Coupon, ShippingMethod
from emporium.settings import AppSettings
from emporium.web.checkout_state import open_quote, seal_quote
from tests.inventory.factory import Made, make_product
from tests.orders.factory import make_coupon, make_shipping
from tests.web.conftest import csrf_token
from tests.web.test_cart_pages import review_form as place_form

pytestmark = pytest.mark.asyncio

GUEST = {
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
TOTAL = re.compile(r'data-total="([0-9.]+)"')


@dataclass
class Shop:
    made: Made
    standard: int
    express: int


async def open_shop(ctx: AppContext, *, on_hand: int = 10, coupon: str | None = None) -> Shop:
    async with ctx.db.session() as session:
        made = await make_product(session, "Walnut Fudge", prices=("29.17",), on_hand=on_hand)
        standard = await make_shipping(session, price="0.00", name="Standard")
        express = await make_shipping(session, price="19.99", name="Express")
        if coupon:
            await make_coupon(session, coupon, usage_limit=5)
        await session.commit()
    return Shop(made, standard.id, express.id)


async def to_review(
    client: httpx.AsyncClient, shop: Shop, quantity: int = 1, coupon: str | None = None
) -> str:
    """Add to the cart, give the details, follow to the review page; its HTML."""
    csrf = csrf_token((await client.get("/cart")).text)
    added = await client.post(
        "/cart/add",
        data={"csrf_token": csrf, "variant_id": str(shop.made.variants[0].id), "quantity": str(quantity)},
    )
    assert added.status_code == 303, added.text
    if coupon:
        assert (
            await client.post("/cart/coupon", data={"csrf_token": csrf, "code": coupon})
        ).status_code == 303
    posted = await client.post("/checkout/review", data={"csrf_token": csrf, **GUEST})
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == "/checkout/review"
    page = await client.get("/checkout/review")
    assert page.status_code == 200, page.text
    return page.text


def shown_total(html: str) -> Decimal:
    found = TOTAL.search(html)
    assert found, "no total on the page"
    return Decimal(found.group(1))


async def refused(client: httpx.AsyncClient, form: dict[str, str]) -> str:
    """Place the order and expect the review page back instead; that page's HTML."""
    response = await client.post("/checkout/place", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == "/checkout/review"
    return (await client.get("/checkout/review")).text


async def orders(ctx: AppContext) -> list[Order]:
    async with ctx.db.session() as session:
        return list((await session.execute(select(Order).order_by(Order.id))).scalars())


async def reserved(ctx: AppContext, shop: Shop) -> int:
    async with ctx.db.session() as session:
        pool = await session.get(StockPool, shop.made.pools[0].id, populate_existing=True)
        assert pool is not None
        return pool.reserved


async def test_a_changed_radio_placed_at_once_is_not_charged_unseen(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """The reproduction: Standard shown ($29.17), Express picked, "Place order" pressed at once."""
    shop = await open_shop(ctx)
    html = await to_review(client, shop)
    assert shown_total(html) == Decimal("29.17")
    form = place_form(html)
    assert form["shipping_method_id"] == str(shop.standard)
    form |= {"shipping_method_id": str(shop.express), "payment_method": "cash_on_delivery"}

    refused = await client.post("/checkout/place", data=form)
    assert refused.status_code == 303
    assert refused.headers["location"] == "/checkout/review"
    assert await orders(ctx) == []
    assert await reserved(ctx, shop) == 0

    again = await client.get("/checkout/review")
    assert again.status_code == 200
    assert "Your order was not placed: the total changed." in again.text
    assert "Shipping: Express ($19.99) instead of Standard ($0.00)." in again.text
    assert "The total is now $49.16 (it was $29.17)." in again.text
    assert shown_total(again.text) == Decimal("49.16")
    second = place_form(again.text)
    assert second["shipping_method_id"] == str(shop.express)  # the choice is kept
    assert second["payment_method"] == "cash_on_delivery"
    # Told once: reloading shows the page without the notice.
    assert "the total changed" not in (await client.get("/checkout/review")).text

    placed = await client.post("/checkout/place", data=second)
    assert placed.status_code == 303
    assert re.fullmatch(r"/orders/ORD-\d{4}-\d{6}/thanks", placed.headers["location"])
    [order] = await orders(ctx)
    assert order.total_minor == 4916
    assert await reserved(ctx, shop) == 1
    assert "shop_checkout=" in placed.headers["set-cookie"]  # the checkout's details are dropped


async def test_htmx_updates_the_totals_and_the_quote_together(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shop = await open_shop(ctx)
    form = place_form(await to_review(client, shop))
    form["shipping_method_id"] = str(shop.express)
    fragment = await client.post(
        "/checkout/review/choices",
        data=form,
        headers={"HX-Request": "true", "X-CSRF-Token": form["csrf_token"]},
    )
    assert fragment.status_code == 200
    assert "<header" not in fragment.text
    assert 'id="review-summary"' in fragment.text
    assert shown_total(fragment.text) == Decimal("49.16")
    new_quote = re.search(r'name="quote" value="([^"]+)"', fragment.text)
    assert new_quote
    assert new_quote.group(1) != form["quote"]
    form["quote"] = new_quote.group(1)

    placed = await client.post("/checkout/place", data=form)
    assert placed.status_code == 303
    assert placed.headers["location"].startswith("/pay/test/")
    [order] = await orders(ctx)
    assert order.total_minor == 4916


async def test_without_script_update_the_totals_comes_back_to_the_review(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shop = await open_shop(ctx)
    form = place_form(await to_review(client, shop))
    form["shipping_method_id"] = str(shop.express)
    updated = await client.post("/checkout/review/choices", data=form)
    assert updated.status_code == 303
    assert updated.headers["location"] == "/checkout/review"
    page = await client.get("/checkout/review")
    assert shown_total(page.text) == Decimal("49.16")
    assert place_form(page.text)["shipping_method_id"] == str(shop.express)
    assert "Update the totals" in page.text  # the button only shows without script
    assert "<noscript><button" in page.text


async def test_a_price_change_after_the_review_is_shown_not_charged(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shop = await open_shop(ctx)
    form = place_form(await to_review(client, shop, quantity=2))
    async with ctx.db.session() as session:
        variant = shop.made.variants[0]
        await session.execute(
            update(type(variant)).where(type(variant).id == variant.id).values(price_minor=3117)
        )
        await session.commit()
    page = await refused(client, form)
    assert "The price of Walnut Fudge · #1 changed from $29.17 to $31.17." in page
    assert shown_total(page) == Decimal("62.34")
    assert await orders(ctx) == []
    assert await reserved(ctx, shop) == 0


async def test_a_used_up_coupon_is_removed_with_a_notice(client: httpx.AsyncClient, ctx: AppContext) -> None:
    shop = await open_shop(ctx, coupon="FUDGE10")
    html = await to_review(client, shop, coupon="FUDGE10")
    assert shown_total(html) == Decimal("26.25")  # 29.17 less 10 % (2.92, half even)
    async with ctx.db.session() as session:
        await session.execute(update(Coupon).where(Coupon.code == "FUDGE10").values(used_count=5))
        await session.commit()
    page = await refused(client, place_form(html))
    assert "Your order was not placed:" in page
    assert "Coupon FUDGE10 was removed from your cart." in page
    assert shown_total(page) == Decimal("29.17")
    assert await orders(ctx) == []
    assert await reserved(ctx, shop) == 0
    placed = await client.post("/checkout/place", data=place_form(page))
    assert placed.status_code == 303
    [order] = await orders(ctx)
    assert order.total_minor == 2917
    assert order.coupon_code is None


async def test_a_sold_out_line_is_capped_with_a_notice(client: httpx.AsyncClient, ctx: AppContext) -> None:
    shop = await open_shop(ctx, on_hand=5)
    html = await to_review(client, shop, quantity=3)
    async with ctx.db.session() as session:
        await session.execute(
            update(StockPool).where(StockPool.id == shop.made.pools[0].id).values(on_hand=2)
        )
        await session.commit()
    page = await refused(client, place_form(html))
    assert "Your order was not placed: some items ran out." in page
    assert "Walnut Fudge · #1: only 2 left, so your cart now holds 2." in page
    assert shown_total(page) == Decimal("58.34")
    assert await orders(ctx) == []
    assert await reserved(ctx, shop) == 0


async def test_a_withdrawn_shipping_method_is_named_next_to_the_choice(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    shop = await open_shop(ctx)
    form = place_form(await to_review(client, shop))
    form["shipping_method_id"] = str(shop.express)
    async with ctx.db.session() as session:
        await session.execute(
            update(ShippingMethod).where(ShippingMethod.id == shop.express).values(is_active=False)
        )
        await session.commit()
    page = await refused(client, form)
    assert "This shipping method is no longer offered for your address. Choose another one." in page
    assert 'id="shipping-error"' in page
    assert "Express" not in page
    assert await orders(ctx) == []
    assert await reserved(ctx, shop) == 0


@pytest.mark.parametrize("quote", [None, "", "garbage", "eJxLTEoGAAJNASc.AAAA"])
async def test_a_missing_or_forged_quote_places_nothing(
    client: httpx.AsyncClient, ctx: AppContext, quote: str | None
) -> None:
    shop = await open_shop(ctx)
    form = place_form(await to_review(client, shop))
    if quote is None:
        del form["quote"]
    else:
        form["quote"] = quote
    assert "Check the total below" in await refused(client, form)
    assert await orders(ctx) == []


async def test_back_and_reload_always_land_on_a_page(client: httpx.AsyncClient, ctx: AppContext) -> None:
    """Every step is a GET after its post, so the browser's history holds no post to resend."""
    shop = await open_shop(ctx)
    form = place_form(await to_review(client, shop))
    form["shipping_method_id"] = str(shop.express)
    assert (await client.post("/checkout/place", data=form)).headers["location"] == "/checkout/review"
    details = await client.get("/checkout")  # Back to the first step: filled in
    assert details.status_code == 200
    assert 'value="1 Analytical Way"' in details.text
    for _ in range(2):
        assert (await client.get("/checkout/review")).status_code == 200
    # Without the checkout's cookie (a new browser), the review sends the shopper to the first step.
    client.cookies.delete("shop_checkout", path="/checkout")
    assert (await client.get("/checkout/review")).headers["location"] == "/checkout"


async def test_a_tampered_state_cookie_is_ignored(client: httpx.AsyncClient, ctx: AppContext) -> None:
    shop = await open_shop(ctx)
    await to_review(client, shop)
    value = next(c.value for c in client.cookies.jar if c.name == "shop_checkout")
    client.cookies.delete("shop_checkout", path="/checkout")
    client.cookies.set(
        "shop_checkout", value[:-2] + ("AA" if not value.endswith("AA") else "BB"), path="/checkout"
    )
    assert (await client.get("/checkout/review")).headers["location"] == "/checkout"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["standard", "express"]), st.sampled_from(["htmx", "form", "radio only"])),
        min_size=1,
        max_size=5,
    )
)
async def test_the_charged_total_is_the_last_total_shown(
    client: httpx.AsyncClient, ctx: AppContext, steps: list[tuple[str, str]]
) -> None:
    """Any sequence of changes on the review page (through htmx, through the form without script, or a radio
    changed with no update at all), then "Place order" until an order is placed: the order's total is the
    last total the page showed."""
    client.cookies.clear()
    async with ctx.db.session() as session:
        await session.execute(update(StockPool).values(reserved=0))
        await session.commit()
    shop = await open_shop(ctx)
    html = await to_review(client, shop)
    form, shown = place_form(html), shown_total(html)
    for method, how in steps:
        form["shipping_method_id"] = str(shop.standard if method == "standard" else shop.express)
        if how == "htmx":
            headers = {"HX-Request": "true", "X-CSRF-Token": form["csrf_token"]}
            fragment = (await client.post("/checkout/review/choices", data=form, headers=headers)).text
            quote = re.search(r'name="quote" value="([^"]+)"', fragment)
            assert quote
            form["quote"], shown = quote.group(1), shown_total(fragment)
        elif how == "form":
            assert (await client.post("/checkout/review/choices", data=form)).status_code == 303
            html = (await client.get("/checkout/review")).text
            form, shown = place_form(html), shown_total(html)
    before = len(await orders(ctx))
    for _ in range(2):
        placed = await client.post("/checkout/place", data=form)
        assert placed.status_code == 303
        if placed.headers["location"] != "/checkout/review":
            break
        html = (await client.get("/checkout/review")).text
        form, shown = place_form(html), shown_total(html)
    after = await orders(ctx)
    assert len(after) == before + 1
    assert after[-1].total_minor == int(shown * 100)


async def test_no_order_and_no_reservation_count(client: httpx.AsyncClient, ctx: AppContext) -> None:
    """Refusals leave no idempotency key behind either: the same form places the order once corrected."""
    shop = await open_shop(ctx)
    form = place_form(await to_review(client, shop))
    form["shipping_method_id"] = str(shop.express)
    assert (await client.post("/checkout/place", data=form)).headers["location"] == "/checkout/review"
    async with ctx.db.session() as session:
        from emporium.core.idempotency_models import IdempotencyKey

        keys = await session.execute(select(func.count()).select_from(IdempotencyKey))
        assert keys.scalar_one() == 0


async def test_a_big_carts_quote_comes_back_whole(settings: AppSettings) -> None:
    """The sealed quote is bounded by the form, not by a cookie: a cart of hundreds of lines still places."""
    names = [f"Product {i} · {hashlib.sha256(str(i).encode()).hexdigest()[:24]}" for i in range(600)]
    lines = tuple(SeenLine(i, 3, 12_345 + i, name) for i, name in enumerate(names))
    quote = SeenQuote("USD", lines, 1, "WELCOME10", 1, 2, 3, 4, 5, "Express")
    sealed = seal_quote(settings, quote)
    assert len(sealed) > 8_000
    assert open_quote(settings, sealed) == quote
    assert open_quote(settings, sealed[:-1] + ("A" if sealed[-1] != "A" else "B")) is None
