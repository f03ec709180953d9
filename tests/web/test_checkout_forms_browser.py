"""The guest's details step in a real browser (Debian's chromium, driven by Playwright): the name is typed
once (the contact's and the recipient's fill each other until one is changed by hand), the country is a
list of names starting at the shop's own, and on a laptop the order summary stands beside the form on both
checkout steps. No console error and no Content-Security-Policy violation on the way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import ConsoleMessage, Error, Locator, Page, async_playwright, expect

from emporium.settings import AppSettings
from tests.catalog.conftest import Shop
from tests.conftest import MakeContext, make_settings
from tests.orders.factory import make_shipping
from tests.web.conftest import CHROMIUM_ARGS, _serve, violations_script

pytestmark = pytest.mark.asyncio


@pytest.fixture
def forms_shop(settings: AppSettings, live_catalog: Shop) -> Iterator[str]:
    served = make_settings(settings.database_url, None, public_url="http://127.0.0.1")
    yield from _serve(served)


async def beside(form: Locator, summary: Locator) -> bool:
    """Whether the summary stands to the right of the form, their tops level (not stacked below it)."""
    left, right = await form.bounding_box(), await summary.bounding_box()
    assert left is not None
    assert right is not None
    return right["x"] >= left["x"] + left["width"] - 1 and abs(right["y"] - left["y"]) < 40


async def to_details(page: Page, base: str) -> None:
    await page.goto(base + "/p/tea-towel")
    await page.get_by_role("button", name="Add to cart").click()
    await page.wait_for_url(base + "/cart")
    await page.get_by_role("link", name="Check out").click()
    await expect(page.get_by_role("heading", name="Checkout")).to_be_visible()


async def test_the_guest_types_the_name_once_and_picks_a_country_by_name(
    live_catalog: Shop,
    make_committed_context: MakeContext,
    forms_shop: str,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    await live_catalog.product("Tea Towel", price="12.00", on_hand=20)
    seeding = make_committed_context()
    async with seeding.db.session() as session:
        await make_shipping(session, countries=("GB",), price="3.50", name="Royal Mail")
        await session.commit()

    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            await page.add_init_script(violations_script())
            page.on("console", on_console)
            page.on("pageerror", on_page_error)
            await to_details(page, forms_shop)

            # The country: a list of names, starting at the country the shop ships to.
            country = page.get_by_label("Country", exact=True)
            await expect(country).to_have_value("GB")
            assert await country.evaluate("e => e.tagName") == "SELECT"
            assert await country.evaluate("e => e.selectedOptions[0].textContent") == "United Kingdom"
            names = await country.evaluate("e => [...e.options].map(o => o.textContent)")
            assert {"United States", "India", "Germany", "France", "Australia", "Canada"} <= set(names)
            assert len(names) > 240

            # The name, typed once, fills the recipient too (and the other way round).
            contact, recipient = page.locator("#f-contact_name"), page.get_by_label("Recipient's name")
            await contact.press_sequentially("Ada Lovelace")
            await expect(recipient).to_have_value("Ada Lovelace")
            # Changed by hand, the recipient is left alone from then on.
            await recipient.fill("Charles Babbage")
            await contact.press("End")
            await contact.press_sequentially(" King")
            await expect(contact).to_have_value("Ada Lovelace King")
            await expect(recipient).to_have_value("Charles Babbage")

            # On a laptop the order summary stands beside the form.
            summary = page.locator(".checkout-summary")
            await expect(summary).to_contain_text("Tea Towel")
            assert await beside(page.locator("form.checkout-form"), summary)
            await page.screenshot(path=str(artifacts / "checkout-details-1280.png"), full_page=True)

            await page.locator("#f-contact_phone").fill("020 7946 0958")
            await page.locator("#f-contact_email").fill("ada@example.com")
            await page.get_by_label("Address", exact=True).fill("12 St James's Square")
            await page.get_by_label("City").fill("London")
            await page.get_by_label("Postal code").fill("sw1y4jh")
            await page.get_by_role("button", name="Continue to shipping and payment").click()
            await expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
            await expect(page.locator(".checkout-address")).to_contain_text("Charles Babbage")
            await expect(page.locator(".checkout-address")).to_contain_text("SW1Y 4JH")
            await expect(page.locator(".checkout-contact")).to_contain_text("+442079460958")
            assert await beside(page.locator(".checkout-main"), page.locator(".checkout-summary"))

            violations = await page.evaluate("window.__cspViolations")
            assert violations == [], violations
            await context.close()

            # On a phone the summary follows the form instead.
            context = await browser.new_context(viewport={"width": 390, "height": 844})
            page = await context.new_page()
            page.on("pageerror", on_page_error)
            await to_details(page, forms_shop)
            assert not await beside(page.locator("form.checkout-form"), page.locator(".checkout-summary"))
            await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
