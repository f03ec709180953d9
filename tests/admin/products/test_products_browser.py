"""The product screens in a real browser (Debian's chromium): a merchant creates a product, edits its
description with the live preview, changes the price of every product of a filter with a preview, follows
the background job's progress, and finds the new price on the shop's product page. No CSP violation and no
console error on the way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from emporium.settings import AppSettings
from tests.admin.test_pages_browser import sign_in
from tests.catalog.conftest import Shop
from tests.conftest import make_settings
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, _serve, violations_script, watch_page


@pytest.fixture
def live_shop_with_jobs(settings: AppSettings, live_catalog: Shop) -> Iterator[LiveShop]:
    """The served shop with its job runner on, as a real shop runs it (bulk changes are jobs)."""
    served = make_settings(
        settings.database_url, None, public_url="http://127.0.0.1", jobs_run_in_process=True
    )
    for url in _serve(served):
        yield LiveShop(url, served)


async def test_a_merchant_creates_a_product_and_changes_its_price_in_bulk(
    live_catalog: Shop, live_shop_with_jobs: LiveShop, chromium_path: Path, artifacts: Path
) -> None:
    shop = live_shop_with_jobs.url
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            await page.add_init_script(violations_script())
            watch_page(page, problems)
            page.on("dialog", lambda dialog: dialog.accept())
            await sign_in(page, shop, "live-admin@shop.test")

            await page.goto(shop + "/admin/products", wait_until="networkidle")
            await page.get_by_role("link", name="Add a product").first.click()
            await page.get_by_label("Name", exact=True).fill("Harbour mug")
            await page.locator("#f-description").fill("A **sturdy** mug")
            await expect(page.locator("#description-preview strong")).to_have_text("sturdy")
            await page.locator("#f-seo-title").fill("Harbour mug, stoneware")
            await expect(page.locator("#seo-preview")).to_contain_text("Harbour mug, stoneware · ")
            await page.get_by_label("SKU").fill("MUG-HARBOUR")
            await page.get_by_label("Price (USD)").fill("12.00")
            await page.get_by_label("Stock on hand (pieces)").fill("5")
            await page.locator("#f-status").select_option("active")
            await page.get_by_role("button", name="Create the product").click()
            await expect(page.locator(".admin-flash--success")).to_contain_text("is created")
            await expect(page.locator(".admin-tabs__link--here")).to_have_text("Details")

            await page.locator("#f-description").fill("A sturdy *stoneware* mug\n\n<script>alert(1)</script>")
            await expect(page.locator("#description-preview em")).to_have_text("stoneware")
            await expect(page.locator("#description-preview script")).to_have_count(0)
            await page.get_by_role("button", name="Save").click()
            await expect(page.locator(".admin-flash--success")).to_have_text("Saved.")
            await page.screenshot(path=str(artifacts / "admin-product-details.png"), full_page=True)

            await page.goto(shop + "/admin/products?q=harbour", wait_until="networkidle")
            await expect(page.locator(".admin-products-table tbody tr")).to_have_count(1)
            await page.get_by_label("Every product of this filter: 1").check()
            await page.locator("#b-action").select_option("price")
            await expect(page.locator("#b-category")).to_be_hidden()
            await page.locator("#b-direction").select_option("up")
            await page.locator("#b-value").fill("10")
            await page.locator("#b-mode").select_option("percent")
            await page.get_by_role("button", name="Preview the change").click()
            await expect(page.locator("h1")).to_have_text("Change prices up by 10 %")
            await expect(page.locator(".admin-products-preview")).to_contain_text("12.00 → 13.20")
            await page.get_by_role("button", name="Apply to 1 product").click()
            await expect(page.locator(".admin-products-progress__text")).to_contain_text(
                "Done: 1 product changed", timeout=20_000
            )
            await page.screenshot(path=str(artifacts / "admin-product-bulk.png"), full_page=True)

            await page.goto(shop + "/p/harbour-mug", wait_until="networkidle")
            await expect(page.locator("main")).to_contain_text("13.20")
            await expect(page.locator("main")).to_contain_text("stoneware")
            assert await page.evaluate("window.__cspViolations") == []
            await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
