"""Stock and coupons in a real browser (Debian's chromium), the way a merchant clicks them: adjust a pool
with a reason and read it in the pool's history; create a percentage coupon limited to a category and find it
in the list. No CSP violation and no console error on the way."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import async_playwright, expect

from tests.admin.test_pages_browser import sign_in
from tests.catalog.conftest import Shop
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script, watch_page

REFUSED = (
    "console error: Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
)


async def test_a_merchant_adjusts_stock_and_creates_a_coupon(
    live_catalog: Shop, live_shop: LiveShop, chromium_path: Path, artifacts: Path
) -> None:
    summer = await live_catalog.category("Summer wear")
    await live_catalog.product("Linen shirt", "45.00", on_hand=12, category_id=summer["id"])
    problems: list[str] = []
    url = live_shop.url

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            await page.add_init_script(violations_script())
            watch_page(page, problems)
            await sign_in(page, url, "live-admin@shop.test")

            await page.locator(".admin-sidebar__list").get_by_role("link", name="Inventory").click()
            await page.get_by_label("Pool or product name, or a whole SKU").fill("linen")
            await page.get_by_role("button", name="Filter").click()
            await page.locator(".admin-stock-table").get_by_role("link").first.click()
            await expect(page.locator("#stock-on-hand")).to_have_text("12")
            await page.get_by_label("Change (pc; negative takes away)").fill("-3")
            await page.get_by_role("button", name="Adjust").click()
            # Without a reason: refused with the field's message, nothing changed.
            await expect(page.locator("#adjust-reason-error")).to_contain_text("Say why the stock changes")
            await expect(page.locator("#stock-on-hand")).to_have_text("12")
            # The refusal's 422 is the one thing the browser reports; nothing else went wrong.
            assert problems == [REFUSED], problems
            problems.clear()
            await page.get_by_label("Reason", exact=True).fill("Two shirts torn in the stock room")
            await page.get_by_role("button", name="Adjust").click()
            await expect(page.get_by_text("Adjusted by -3 pc; 9 on hand now.")).to_be_visible()
            await expect(page.locator("#stock-on-hand")).to_have_text("9")
            history = page.locator(".admin-stock-history")
            await expect(history.get_by_text("Two shirts torn in the stock room")).to_be_visible()
            await expect(history.get_by_text("live-admin@shop.test").first).to_be_visible()
            await page.screenshot(path=str(artifacts / "admin-pool.png"), full_page=True)
            assert await page.evaluate("window.__cspViolations") == []

            await page.locator(".admin-sidebar__list").get_by_role("link", name="Coupons").click()
            await page.get_by_role("link", name="New coupon").click()
            await page.get_by_label("Code").fill("summer-15")
            await page.get_by_role("radio", name="Percentage off").check()
            await page.get_by_label("Percentage off (percentage coupons)").fill("15")
            await page.get_by_label("Summer wear").check()
            await page.screenshot(path=str(artifacts / "admin-coupon-form.png"), full_page=True)
            await page.get_by_role("button", name="Create the coupon").click()
            await expect(page.get_by_text("Coupon SUMMER-15 created.")).to_be_visible()
            await expect(page.locator(".admin-stock-facts").get_by_text("Summer wear")).to_be_visible()
            assert await page.evaluate("window.__cspViolations") == []

            await page.locator(".admin-sidebar__list").get_by_role("link", name="Coupons").click()
            row = page.locator("tbody tr").filter(has_text="SUMMER-15")
            await expect(row).to_contain_text("15 % off")
            await expect(row).to_contain_text("0 / ∞")
            await page.screenshot(path=str(artifacts / "admin-coupons.png"), full_page=True)
            assert await page.evaluate("window.__cspViolations") == []
            await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
