"""Catalog pages in a real browser (Debian's chromium, driven by Playwright): a shopper finds a product by
a misspelt search, opens it and picks variants whose price and availability change without a reload;
no console error or CSP violation (the JSON-LD block included); screenshots in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import ConsoleMessage, Error, Page, async_playwright, expect

from tests.catalog.conftest import Shop
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script

VIEWPORTS = ((390, 844), (1280, 800))
SHOTS = ("category", "search", "product")


async def seed(shop: Shop) -> None:
    sweets = await shop.category("Sweets", description="Fudge, toffee and drops, made by hand.")
    toffee = await shop.category("Toffee", parent_id=sweets["id"])
    brand = await shop.brand("Marlow & Sons")
    await shop.product(
        "Rose Fudge",
        price=None,
        category_id=sweets["id"],
        brand_id=brand["id"],
        description="Soft fudge with **rose water**, cut by hand.",
        variants=[
            {"sku": "RF-250", "price": "5.00", "options": {"weight": "250 g"}, "stock": {"on_hand": 3}},
            {"sku": "RF-500", "price": "9.00", "options": {"weight": "500 g"}, "stock": {"on_hand": 40}},
            {"sku": "RF-1K", "price": "16.00", "options": {"weight": "1 kg"}, "stock": {"on_hand": 0}},
        ],
    )
    for name, price in (("Butter Toffee", "6.50"), ("Treacle Toffee", "4.75"), ("Salted Caramel", "7.20")):
        await shop.product(name, price=price, category_id=toffee["id"], brand_id=brand["id"])
    await shop.product("Lemon Drops", price="3.10", category_id=sweets["id"])


async def pick_variants(page: Page) -> None:
    """Choose boxes of the product page and see the offer follow, in the same document."""
    offer = page.locator("#offer")
    await expect(offer.locator(".offer__amount")).to_have_text("$5.00")
    await expect(offer).to_contain_text("Only 3 left")
    url = page.url
    # A value kept in the document: a reload or a navigation would lose it.
    await page.evaluate("window.__samePage = 'yes'")

    await page.get_by_text("500 g", exact=True).click()
    await expect(offer.locator(".offer__amount")).to_have_text("$9.00", timeout=10_000)
    await expect(offer).to_contain_text("In stock")
    await expect(page.locator("#quantity")).to_have_attribute("max", "40")

    await page.get_by_text("1 kg", exact=True).click()
    await expect(offer.locator(".offer__amount")).to_have_text("$16.00", timeout=10_000)
    await expect(offer).to_contain_text("Sold out")
    await expect(offer.get_by_role("button", name="Sold out")).to_be_disabled()

    await page.get_by_text("500 g", exact=True).click()
    await expect(offer.locator(".offer__amount")).to_have_text("$9.00", timeout=10_000)
    await expect(offer.get_by_role("button", name="Add to cart")).to_be_enabled()
    assert page.url == url
    assert await page.evaluate("window.__samePage") == "yes"


async def test_search_product_and_variants_in_chromium(
    live_catalog: Shop, live_shop: LiveShop, chromium_path: Path, artifacts: Path
) -> None:
    await seed(live_catalog)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

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
                suffix = f"{width}x{height}"

                # The category page, with its filters (a sidebar on desktop, a panel on phones).
                response = await page.goto(live_shop.url + "/c/sweets", wait_until="networkidle")
                assert response is not None
                assert response.status == 200
                await expect(page.locator(".product-card")).to_have_count(5)
                await expect(page.locator(".listing__count")).to_have_text("5 products")
                if width < 1024:
                    await page.get_by_text("Filter and sort").click()
                await page.select_option("#f-sort", "price_asc")
                await page.get_by_role("button", name="Show products").click()
                await page.wait_for_load_state("networkidle")
                assert page.url == live_shop.url + "/c/sweets?sort=price_asc"
                await expect(page.locator(".product-card__name").first).to_have_text("Lemon Drops")
                await page.screenshot(path=str(artifacts / f"category-{suffix}.png"), full_page=True)
                assert await page.evaluate("window.__cspViolations") == []

                # A misspelt search from the header box: "did you mean" and the product.
                box = page.locator("#search-q")
                await box.fill("rose fudeg")
                await box.press("Enter")
                await page.wait_for_url("**/search?q=rose+fudeg")
                await expect(page.locator(".did-you-mean")).to_contain_text("Did you mean")
                await expect(page.locator(".did-you-mean a")).to_have_attribute(
                    "href", "/search?q=rose+fudge"
                )
                card = page.locator(".product-card__link", has_text="Rose Fudge")
                await expect(card).to_be_visible()
                await page.screenshot(path=str(artifacts / f"search-{suffix}.png"), full_page=True)
                assert await page.evaluate("window.__cspViolations") == []

                # The product page: the JSON-LD data block raises no CSP violation.
                await card.click()
                await page.wait_for_url("**/p/rose-fudge")
                await page.wait_for_load_state("networkidle")
                await expect(page.locator("h1")).to_have_text("Rose Fudge")
                await expect(page.locator('script[type="application/ld+json"]')).to_have_count(1)
                await pick_variants(page)
                await page.screenshot(path=str(artifacts / f"product-{suffix}.png"), full_page=True)
                violations = await page.evaluate("window.__cspViolations")
                assert violations == [], violations
                await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
    for width, height in VIEWPORTS:
        for name in SHOTS:
            assert (artifacts / f"{name}-{width}x{height}.png").stat().st_size > 10_000
