"""A guest buys in a real browser (Debian's chromium, driven by Playwright): product page, cart with a
coupon, checkout, the test gateway's card page, the confirmation (paid once the webhook job ran) and
tracking; then a declined card. Screenshots of cart, checkout and confirmation go to test-artifacts/."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import ConsoleMessage, Error, Page, async_playwright, expect

from emporium.app import create_app
from emporium.settings import AppSettings
from tests.catalog.conftest import Shop
from tests.conftest import MakeContext, make_settings
from tests.orders.factory import make_coupon, make_shipping, make_tax
from tests.support import free_port
from tests.web.conftest import CHROMIUM_ARGS, violations_script

VIEWPORTS = ((390, 844), (1280, 800))
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


@pytest.fixture
def paying_shop(settings: AppSettings, live_catalog: Shop) -> Iterator[str]:
    """The shop on loopback with its job relay running in-process (the test gateway's webhook is a job)
    and its public URL on the real port (the payment page's return link is absolute)."""
    port = free_port()
    served = make_settings(
        settings.database_url,
        None,
        public_url=f"http://127.0.0.1:{port}",
        jobs_run_in_process=True,
        jobs_poll_seconds=0.2,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings=served), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="paying-shop", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the shop did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


async def shop_for(page: Page, base: str, card: str, shots: Path | None, size: str) -> str:
    """One guest purchase up to the return from the payment page; the order number."""
    await page.goto(base + "/p/garden-gloves")
    await page.get_by_label("Quantity").fill("2")
    await page.get_by_role("button", name="Add to cart").click()
    await page.wait_for_url(base + "/cart")
    await expect(page.locator("#cart-count")).to_have_text("2")

    await page.get_by_label("Coupon code").fill("demo10")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator(".cart-coupon")).to_contain_text("DEMO10")
    await page.get_by_label("Country").select_option("US")
    await page.get_by_role("button", name="Estimate").click()
    await expect(page.locator(".totals__row--grand")).to_contain_text("$42.34")  # 36 - 3.60 + 3.24 tax + 6.70
    if shots:
        await page.screenshot(path=str(shots / f"cart-{size}.png"), full_page=True)

    await page.get_by_role("link", name="Check out").click()
    await page.get_by_label("Full name").fill("Ada Lovelace")
    await page.get_by_label("Phone").fill("+1 202 555 0199")
    await page.get_by_label("E-mail address").fill("ada@example.com")
    await page.get_by_label("Recipient's name").fill("Ada Lovelace")
    await page.get_by_label("Address", exact=True).fill("1 Analytical Way")
    await page.get_by_label("City").fill("Arlington")
    await page.get_by_label("State, province or region").fill("VA")
    await page.get_by_label("Postal code").fill("22202")
    await page.get_by_label("Country", exact=True).select_option("US")
    if shots:
        await page.screenshot(path=str(shots / f"checkout-{size}.png"), full_page=True)
    await page.get_by_role("button", name="Continue to shipping and payment").click()
    await expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    await expect(page.locator(".checkout-summary .totals__row--grand")).to_contain_text("$42.34")
    await page.get_by_label("Card (test mode)").check()
    if shots:
        await page.screenshot(path=str(shots / f"checkout-review-{size}.png"), full_page=True)
    await page.get_by_role("button", name="Place order").click()

    await page.wait_for_url(re.compile(r".*/pay/test/.*"))
    heading = await page.locator("h1").inner_text()
    number = heading.rsplit(" ", 1)[-1]
    await page.get_by_label("Card number").fill(card)
    await page.get_by_label("Expiry (MM/YY)").fill("12/34")
    await page.get_by_label("CVC").fill("123")
    await page.get_by_role("button", name=re.compile("^Pay ")).click()
    # The payment page sends the shopper back by itself, to the page for what it knows so far.
    await page.wait_for_url(re.compile(rf".*/orders/{number}/(thanks|payment-failed)"))
    return number


async def test_guest_buys_with_the_test_card_and_tracks_the_order(
    live_catalog: Shop,
    make_committed_context: MakeContext,
    paying_shop: str,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    await live_catalog.product("Garden Gloves", price="18.00", on_hand=50)
    seeding = make_committed_context()
    async with seeding.db.session() as session:
        await make_shipping(session, price="6.70", name="Standard post")
        await make_tax(session, "US", "10")
        await make_coupon(session, "DEMO10", usage_limit=100)
        await session.commit()

    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text} at {message.location.get('url')}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            for width, height in VIEWPORTS:
                context = await browser.new_context(viewport={"width": width, "height": height})
                page = await context.new_page()
                await page.add_init_script(violations_script())
                page.on("console", on_console)
                page.on("pageerror", on_page_error)

                number = await shop_for(page, paying_shop, GOOD_CARD, artifacts, f"{width}x{height}")
                # "Your order is placed" until the payment is confirmed, then the page moves on by itself.
                await expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible(
                    timeout=15_000
                )
                # Paid once the gateway's webhook job (or the return's check with the gateway) ran; the
                # status block asks again by itself while it waits.
                badge = page.locator("[data-payment-status]")
                await expect(badge).to_have_attribute("data-payment-status", "paid", timeout=15_000)
                await expect(page.get_by_text("your payment was received")).to_be_visible()
                await expect(page.locator("#cart-count")).to_have_text("0")
                await page.screenshot(
                    path=str(artifacts / f"confirmation-{width}x{height}.png"), full_page=True
                )

                await page.get_by_role("link", name="Track this order").click()
                await page.get_by_label("Phone or e-mail address").fill("ada@example.com")
                await page.get_by_role("button", name="Track").click()
                await expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
                await expect(page.locator("[data-order-status]")).to_have_attribute(
                    "data-order-status", "confirmed"
                )
                violations = await page.evaluate("window.__cspViolations")
                assert violations == [], violations
                await context.close()

            # A declined card: a page titled for it with the reason, the order kept, and a way to try again
            # or to pay another way; never "Thank you for your order".
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            page.on("pageerror", on_page_error)
            number = await shop_for(page, paying_shop, DECLINED_CARD, None, "")
            failed = page.get_by_role("heading", name="Your payment didn't go through")
            await expect(failed).to_be_visible(timeout=15_000)
            await expect(page).to_have_url(re.compile(rf".*/orders/{number}/payment-failed$"))
            await expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")
            await expect(page.get_by_text("Your order and its items are kept")).to_be_visible()
            await expect(page.get_by_text("Choose another way to pay")).to_be_visible()
            await expect(page.get_by_label("Cash on delivery")).to_be_visible()
            await expect(page.get_by_text("Thank you for your order")).to_have_count(0)
            await page.screenshot(path=str(artifacts / "payment-failed-1280.png"), full_page=True)
            # Try again works: a new payment of the same order, and this time the card goes through.
            await page.get_by_role("button", name="Try again").click()
            await page.wait_for_url(re.compile(r".*/pay/test/.*"))
            await expect(page.locator("h1")).to_contain_text(number)
            await page.get_by_label("Card number").fill(GOOD_CARD)
            await page.get_by_label("Expiry (MM/YY)").fill("12/34")
            await page.get_by_label("CVC").fill("123")
            await page.get_by_role("button", name=re.compile("^Pay ")).click()
            await expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible(
                timeout=15_000
            )
            await expect(page).to_have_url(re.compile(rf".*/orders/{number}/thanks$"))
            await expect(page.locator("[data-payment-status]")).to_have_attribute(
                "data-payment-status", "paid"
            )
            await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
    for name in ("cart", "checkout", "confirmation"):
        for width, height in VIEWPORTS:
            assert (artifacts / f"{name}-{width}x{height}.png").stat().st_size > 10_000
