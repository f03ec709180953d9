"""The home page and the reports in a real browser (Debian's chromium), with a month of sales committed:
the charts draw, no CSP violation or console error, and the period switch and report picker work."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import ConsoleMessage, async_playwright, expect

from tests.admin.test_pages_browser import sign_in
from tests.admin.test_reports import a_month_of_sales
from tests.catalog.conftest import Shop
from tests.conftest import MakeContext
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script


async def test_the_figures_draw_cleanly(
    live_catalog: Shop,
    live_shop: LiveShop,
    make_committed_context: MakeContext,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    await a_month_of_sales(make_committed_context())
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.add_init_script(violations_script())
            page.on("console", on_console)
            await sign_in(page, live_shop.url, "live-admin@shop.test")
            await page.goto(live_shop.url + "/admin", wait_until="networkidle")
            await page.get_by_role("link", name="Last 30 days").click()
            await expect(page.get_by_role("link", name="Last 30 days")).to_have_attribute(
                "aria-current", "page"
            )
            await expect(page.locator("#sales-chart rect.admin-chart__bar")).to_have_count(30)
            await page.screenshot(path=str(artifacts / "admin-home-30d.png"), full_page=True)
            await page.goto(live_shop.url + "/admin/reports", wait_until="networkidle")
            await page.get_by_label("Report", exact=True).select_option("customers")
            await page.get_by_label("Rows over time").select_option("week")
            await page.get_by_role("button", name="Show").click()
            await expect(page.locator("h1")).to_have_text("New and returning customers")
            await expect(page.locator("#report-chart polyline")).to_have_count(2)
            await page.screenshot(path=str(artifacts / "admin-report-customers.png"), full_page=True)
            await page.get_by_label("Report", exact=True).select_option("products")
            await page.get_by_role("button", name="Show").click()
            await expect(page.locator("#report-chart rect.admin-chart__bar")).to_have_count(3)
            await page.screenshot(path=str(artifacts / "admin-report-products.png"), full_page=True)
            assert await page.evaluate("window.__cspViolations") == []
        finally:
            await browser.close()
    assert problems == [], problems
