"""The review page in a real browser (Debian's chromium, driven by Playwright): the total charged is the
total the page showed, whether the shopper's change of shipping reached the server before "Place order"
(htmx updates the totals at once), did not (the update request lost), or could not (no JavaScript)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, Route, async_playwright, expect
from sqlalchemy import select

from emporium.orders.models import Order
from emporium.settings import AppSettings
from tests.catalog.conftest import Shop
from tests.conftest import MakeContext, make_settings
from tests.orders.factory import make_shipping
from tests.web.conftest import CHROMIUM_ARGS, _serve, violations_script

pytestmark = pytest.mark.asyncio


@pytest.fixture
def review_shop(settings: AppSettings, live_catalog: Shop) -> Iterator[str]:
    served = make_settings(settings.database_url, None, public_url="http://127.0.0.1")
    yield from _serve(served)


async def to_review(page: Page, base: str) -> None:
    """A guest with one box of fudge in the cart, details given, on the review page with Standard."""
    await page.goto(base + "/p/walnut-fudge")
    await page.get_by_role("button", name="Add to cart").click()
    await page.wait_for_url(base + "/cart")
    await page.get_by_role("link", name="Check out").click()
    await page.locator("#f-contact_name").fill("Ada Lovelace")
    await page.locator("#f-contact_phone").fill("+1 202 555 0199")
    await page.locator("#f-contact_email").fill("ada@example.com")
    await page.locator("#f-address_full_name").fill("Ada Lovelace")
    await page.locator("#f-address_line1").fill("1 Analytical Way")
    await page.locator("#f-address_city").fill("Arlington")
    country = page.locator("#f-address_country")
    if await country.evaluate("e => e.tagName") == "SELECT":
        await country.select_option("US")
    else:
        await country.fill("US")
    region = page.locator("#f-address_region")
    if await region.count():
        if await region.evaluate("e => e.tagName") == "SELECT":
            await region.select_option("VA")
        else:
            await region.fill("VA")
    await page.locator("#f-address_postal_code").fill("22202")
    await page.get_by_role("button", name="Continue to shipping and payment").click()
    await expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    await expect(page.locator(".totals__row--grand")).to_contain_text("$29.17")
    await page.get_by_label("Cash on delivery").check()


async def placed_totals(make_context: MakeContext) -> list[int]:
    ctx = make_context()
    async with ctx.db.session() as session:
        return [o.total_minor for o in (await session.execute(select(Order).order_by(Order.id))).scalars()]


async def test_the_total_charged_is_the_total_shown(
    live_catalog: Shop,
    make_committed_context: MakeContext,
    review_shop: str,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    await live_catalog.product("Walnut Fudge", price="29.17", on_hand=50)
    seeding = make_committed_context()
    async with seeding.db.session() as session:
        await make_shipping(session, price="0.00", name="Standard")
        await make_shipping(session, price="19.99", name="Express")
        await session.commit()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            # 1. With script: picking Express updates the totals at once, with no button to press.
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            await page.add_init_script(violations_script())
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await to_review(page, review_shop)
            await expect(page.get_by_role("button", name="Update the totals")).to_be_hidden()
            await page.get_by_label("Express").check()
            await expect(page.locator(".totals__row--grand")).to_contain_text("$49.16")
            await page.get_by_role("button", name="Place order").click()
            await page.wait_for_url(re.compile(r".*/orders/ORD-\d{4}-\d{6}/thanks"))
            assert await placed_totals(make_committed_context) == [4916]
            assert await page.evaluate("window.__cspViolations") == []
            assert errors == []
            await context.close()

            # 2. The update never reaches the server (the shopper pressed "Place order" at once, or the
            # network dropped it): the server refuses to charge what the page did not show.
            context = await browser.new_context(viewport={"width": 390, "height": 844})
            page = await context.new_page()
            await to_review(page, review_shop)

            async def lose(route: Route) -> None:
                await route.abort()

            await page.route("**/checkout/review/choices", lose)
            await page.get_by_label("Express").check()
            await expect(page.locator(".totals__row--grand")).to_contain_text("$29.17")
            await page.get_by_role("button", name="Place order").click()
            await expect(page.get_by_text("Your order was not placed: the total changed.")).to_be_visible()
            await expect(
                page.get_by_text("Shipping: Express ($19.99) instead of Standard ($0.00).")
            ).to_be_visible()
            await expect(page.locator(".totals__row--grand")).to_contain_text("$49.16")
            await expect(page.get_by_label("Express")).to_be_checked()
            await page.screenshot(path=str(artifacts / "review-total-changed-390x844.png"), full_page=True)
            assert await placed_totals(make_committed_context) == [4916]
            # Back and forward land on pages, never on "confirm form resubmission".
            await page.go_back()
            await page.go_forward()
            await expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
            await page.get_by_role("button", name="Place order").click()
            await page.wait_for_url(re.compile(r".*/orders/ORD-\d{4}-\d{6}/thanks"))
            assert await placed_totals(make_committed_context) == [4916, 4916]
            await context.close()

            # 3. Without JavaScript: the form still works and the rule still holds.
            context = await browser.new_context(java_script_enabled=False)
            page = await context.new_page()
            await to_review(page, review_shop)
            await expect(page.get_by_role("button", name="Update the totals")).to_be_visible()
            await page.get_by_label("Express").check()
            await page.get_by_role("button", name="Place order").click()
            await expect(page.get_by_text("The total is now $49.16 (it was $29.17).")).to_be_visible()
            await page.get_by_label("Standard").check()
            await page.get_by_role("button", name="Update the totals").click()
            await expect(page.locator(".totals__row--grand")).to_contain_text("$29.17")
            await page.get_by_role("button", name="Place order").click()
            await page.wait_for_url(re.compile(r".*/orders/ORD-\d{4}-\d{6}/thanks"))
            assert await placed_totals(make_committed_context) == [4916, 4916, 2917]
            await context.close()
        finally:
            await browser.close()
