"""The account's order page in chromium: its figures, "Cancel order" opened and confirmed without script
of the shop's own, the stock released, at a phone's and a laptop's width, under the shop's CSP."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import ConsoleMessage, Error, async_playwright, expect

from tests.catalog.conftest import Shop
from tests.conftest import MakeContext, sign_up
from tests.orders.factory import ADDRESS, make_shipping, make_tax
from tests.support import STRONG_PASSWORD, data
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script

EMAIL = "margaret@example.com"


async def test_an_order_is_cancelled_from_its_page_in_chromium(
    live_catalog: Shop,
    live_shop: LiveShop,
    make_committed_context: MakeContext,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    seeding = make_committed_context()
    api = live_catalog.client
    shopper = await sign_up(api, EMAIL, first_name="Margaret", last_name="Hamilton")
    product = await live_catalog.product("Kalakand", price="12.50", on_hand=10)
    async with seeding.db.session() as session:
        method = await make_shipping(session, price="5.00", name="Standard")
        await make_tax(session, "US", "8.25")
    data(
        await api.post(
            "/api/v1/cart/items", json={"product_id": product["id"], "quantity": 2}, headers=shopper.headers
        ),
        201,
    )
    body = {
        "shipping_address": ADDRESS,
        "shipping_method_id": method.id,
        "payment_method": "cash_on_delivery",
    }
    order = data(await api.post("/api/v1/orders", json=body, headers=shopper.headers), 201)
    assert order["totals"] == {
        "subtotal": "25.00",
        "discount": "0.00",
        "shipping": "5.00",
        "tax": "2.06",
        "total": "32.06",
        "prices_include_tax": False,
    }
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    url = live_shop.url
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            # A laptop looks; then a phone opens "Cancel order" and confirms it.
            for width, height in ((1280, 800), (390, 844)):
                context = await browser.new_context(viewport={"width": width, "height": height})
                page = await context.new_page()
                await page.add_init_script(violations_script())
                page.on("console", on_console)
                page.on("pageerror", on_page_error)
                await page.goto(url + "/account/sign-in")
                await page.get_by_label("E-mail address").fill(EMAIL)
                await page.get_by_label("Password").fill(STRONG_PASSWORD)
                await page.get_by_role("button", name="Sign in").click()
                await page.goto(url + f"/account/orders/{order['id']}", wait_until="networkidle")
                totals = page.locator(".order-lines tfoot")
                await expect(totals).to_contain_text("Subtotal")
                await expect(totals.locator("tr", has_text="Tax 8.25%")).to_contain_text("$2.06")
                await expect(page.locator(".order-lines__total")).to_contain_text("$32.06")
                await expect(page.get_by_text("Payment: Cash on delivery · Awaiting payment")).to_be_visible()
                await page.screenshot(
                    path=str(artifacts / f"account-order-cancel-{width}x{height}.png"), full_page=True
                )
                if width > 400:
                    await context.close()
                    continue
                confirm = page.get_by_role("button", name="Yes, cancel this order")
                await expect(confirm).to_be_hidden()
                await page.get_by_text("Cancel order", exact=True).click()
                await expect(confirm).to_be_visible()
                await page.screenshot(path=str(artifacts / "account-order-cancel-confirm-390x844.png"))
                await confirm.click()
                await expect(page.get_by_text("Your order is cancelled.")).to_be_visible()
                await expect(page).to_have_url(url + f"/account/orders/{order['id']}?cancelled=1")
                await expect(page.get_by_text("Cancel order", exact=True)).to_have_count(0)
                assert await page.evaluate("window.__cspViolations") == []
                await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
    after = data(await api.get(f"/api/v1/orders/{order['id']}", headers=shopper.headers))
    assert after["status"] == "cancelled"
    assert after["stock_state"] == "released"
