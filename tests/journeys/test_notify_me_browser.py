""" "Notify me" in a real browser (Debian's chromium, driven by Playwright): a guest on a sold-out product's
page types an e-mail and asks to be told; the page says to confirm by e-mail and the confirmation is queued;
no console error or CSP violation; a screenshot in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import async_playwright, expect

from tests.catalog.conftest import Shop
from tests.conftest import MakeContext
from tests.journeys.helpers import planned
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script, watch_page


async def test_a_guest_asks_to_hear_when_a_sold_out_product_is_back(
    live_catalog: Shop,
    live_shop: LiveShop,
    chromium_path: Path,
    artifacts: Path,
    make_committed_context: MakeContext,
) -> None:
    product = await live_catalog.product("Blue Jug", price="24.00", on_hand=0)
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
            await page.add_init_script(violations_script())
            watch_page(page, problems)
            await page.goto(live_shop.url + f"/p/{product['slug']}", wait_until="networkidle")
            await expect(page.locator(".offer__stock--out")).to_have_text("Sold out")
            await page.get_by_label("Your e-mail").fill("jug.fan@example.com")
            await page.screenshot(path=str(artifacts / "notify-me-product.png"), full_page=True)
            await page.get_by_role("button", name="Notify me when it is back").click()
            await expect(page.get_by_role("heading", name="We will let you know")).to_be_visible()
            await expect(page.get_by_role("status").first).to_contain_text("Check your e-mail")
            await page.screenshot(path=str(artifacts / "notify-me-guest.png"), full_page=True)
            assert await page.evaluate("window.__cspViolations") == []
        finally:
            await browser.close()
    assert problems == []
    [asked] = await planned(make_committed_context(), "stock.alert_confirm")
    assert asked["recipients"][0]["email"] == "jug.fan@example.com"
