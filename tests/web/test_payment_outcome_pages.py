"""What the shopper is told after paying, over HTTP as a browser follows it: a declined card lands on a page
titled for what happened (never "Thank you for your order") with the reason, "Try again" and another way to
pay; statuses and methods read as names, and variant lines do not repeat their product's name."""

from __future__ import annotations

import html
from typing import Any

import httpx
import pytest

from emporium.app import create_app
from emporium.core.context import AppContext
from tests.conftest import MakeContext
from tests.payments.conftest import GuestOrder, guest_order, order_view, pay_with, start_payment
from tests.support import asgi_client
from tests.web.conftest import csrf_token

DECLINED = "4000 0000 0000 0002"


def _as_the_guest(client: httpx.AsyncClient, placed: GuestOrder) -> None:
    """The cookie the checkout pages give a guest for their order."""
    client.cookies.set("shop_orders", f"{placed.order['id']}.{placed.order['access_token']}")


async def _declined(client: httpx.AsyncClient, ctx: AppContext) -> tuple[GuestOrder, dict[str, Any]]:
    placed = await guest_order(client, ctx)
    _as_the_guest(client, placed)
    payment = await start_payment(client, placed)
    back = await pay_with(client, payment, DECLINED)
    assert back.status_code == 303
    await ctx.jobs.run_until_idle()  # the gateway's webhook, then its processing
    return placed, payment


async def test_a_declined_card_lands_on_the_failure_page(client: httpx.AsyncClient, ctx: AppContext) -> None:
    placed, payment = await _declined(client, ctx)
    number = placed.order["number"]
    # The return from the gateway, the confirmation's address and the status block all lead there.
    back = await client.get(f"/orders/{placed.order['id']}/paid")
    assert back.headers["location"] == f"/orders/{number}/payment-failed"
    assert (await client.get(f"/orders/{number}/thanks")).headers[
        "location"
    ] == f"/orders/{number}/payment-failed"
    polled = await client.get(f"/orders/{number}/status", headers={"HX-Request": "true"})
    assert polled.headers["HX-Redirect"] == f"/orders/{number}/payment-failed"

    page = await client.get(f"/orders/{number}/payment-failed")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert '<h1 class="page-title">Your payment didn\'t go through</h1>' in text
    assert "<title>Your payment didn't go through" in text
    assert "Thank you for your order" not in page.text
    assert "Your card was declined." in page.text
    assert ">Try again</button>" in page.text
    assert "Choose another way to pay" in page.text
    assert 'value="cash_on_delivery"' in page.text
    assert "Cash on delivery" in page.text
    assert 'value="test"' not in page.text  # the way that just failed is "Try again"

    # Try again: a new payment of the same order at the gateway.
    retry = await client.post(f"/orders/{number}/pay", data={"csrf_token": csrf_token(page.text)})
    assert retry.status_code == 303
    assert retry.headers["location"].startswith("/pay/test/")
    assert retry.headers["location"] != payment["next_action"]["url"]
    # While that try is under way the order is awaited, not shown as failed; declined again, it is.
    waiting = await client.get(f"/orders/{number}/thanks")
    assert waiting.status_code == 200
    assert "Your order is placed" in waiting.text
    assert 'data-payment-status="awaiting"' in waiting.text
    assert (await client.get(f"/orders/{placed.order['id']}/paid")).headers["location"].endswith("/thanks")
    await pay_with(client, {"next_action": {"url": retry.headers["location"]}}, DECLINED)
    await ctx.jobs.run_until_idle()
    assert (
        (await client.get(f"/orders/{placed.order['id']}/paid"))
        .headers["location"]
        .endswith("/payment-failed")
    )


async def test_another_way_to_pay_keeps_the_order(client: httpx.AsyncClient, ctx: AppContext) -> None:
    placed, _ = await _declined(client, ctx)
    number = placed.order["number"]
    page = await client.get(f"/orders/{number}/payment-failed")
    token = csrf_token(page.text)
    # A method the shop does not offer is refused with a page that says so.
    refused = await client.post(
        f"/orders/{number}/payment-method", data={"csrf_token": token, "payment_method": "paypal"}
    )
    assert refused.status_code == 422
    assert "This payment method is not offered." in refused.text

    switched = await client.post(
        f"/orders/{number}/payment-method", data={"csrf_token": token, "payment_method": "cash_on_delivery"}
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == f"/orders/{number}/thanks"
    order = await order_view(client, placed)
    assert (order["status"], order["payment_method"], order["payment_status"]) == (
        "pending",
        "cash_on_delivery",
        "awaiting",
    )
    assert order["timeline"][-1]["kind"] == "payment_method_changed"
    thanks = await client.get(f"/orders/{number}/thanks")
    assert "Thank you for your order" in thanks.text
    assert "Pay when your order is delivered." in thanks.text
    assert "Cash on delivery" in thanks.text
    assert "Awaiting payment" in thanks.text
    assert "cash_on_delivery" not in thanks.text.replace('value="cash_on_delivery"', "")
    # Paid another way now: the failure page leads to the confirmation.
    assert (await client.get(f"/orders/{number}/payment-failed")).headers[
        "location"
    ] == f"/orders/{number}/thanks"


async def test_the_confirmation_speaks_in_names(make_context: MakeContext) -> None:
    """A paid order's page: the payment status and method, the order status and the country by name, and a
    variant line without its product's name again."""
    ctx = make_context()
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx)
        _as_the_guest(client, placed)
        payment = await start_payment(client, placed)
        await pay_with(client, payment, "4242 4242 4242 4242")
        await ctx.jobs.run_until_idle()
        page = await client.get(f"/orders/{placed.order['number']}/thanks")
    assert page.status_code == 200
    assert "Thank you for your order" in page.text
    assert ">Paid</span>" in page.text
    assert "Card (test mode)" in page.text
    assert f"<strong>{placed.order['number']}</strong> · Confirmed" in page.text
    assert "United States" in page.text
    line = page.text.split('class="review-line__name">', 1)[1].split("</span></span>", 1)[0]
    assert line.startswith("2 \N{MULTIPLICATION SIGN} Paid tee test")
    assert line.count("Paid tee test") == 1, line  # the variant "Paid tee test #1" reads "· #1"
    assert '<span class="review-line__variant">· #1' in line


@pytest.mark.parametrize("state", ["waiting", "paid"])
async def test_the_status_block_sends_the_page_on_once_the_outcome_is_known(
    client: httpx.AsyncClient, ctx: AppContext, state: str
) -> None:
    placed = await guest_order(client, ctx)
    _as_the_guest(client, placed)
    payment = await start_payment(client, placed)
    number = placed.order["number"]
    if state == "paid":
        await pay_with(client, payment, "4242 4242 4242 4242")
        await ctx.jobs.run_until_idle()
    polled = await client.get(f"/orders/{number}/status", headers={"HX-Request": "true"})
    assert polled.status_code == 200
    if state == "waiting":
        assert "HX-Redirect" not in polled.headers
        assert 'hx-trigger="every 2s"' in polled.text
        assert "Your order is placed" in (await client.get(f"/orders/{number}/thanks")).text
    else:
        assert polled.headers["HX-Redirect"] == f"/orders/{number}/thanks"


async def test_the_test_gateway_returns_to_the_public_url(make_context: MakeContext) -> None:
    """The payment page's answer is a 303 to the shop's public URL, allowed by its form-action."""
    ctx = make_context(public_url="https://shop.example.com:8443")
    async with asgi_client(create_app(ctx=ctx)) as client:
        placed = await guest_order(client, ctx)
        payment = await start_payment(client, placed)
        page = await client.get(payment["next_action"]["url"])
        assert "form-action 'self' https://shop.example.com:8443;" in page.headers["content-security-policy"]
        assert "script-src" not in page.headers["content-security-policy"]
        back = await pay_with(client, payment, DECLINED)
    assert back.status_code == 303
    assert back.headers["location"] == f"https://shop.example.com:8443/orders/{placed.order['id']}/paid"
    assert back.headers["cache-control"] == "no-store"
