"""Finding products in a real browser (Debian's chromium, driven by Playwright): on a product page the
variants that cannot be bought are marked before they are picked, a sold-out one says so on a button that
cannot be pressed, few left is not shown in the colour of good news; a category page's facets take several
values at once through the plain GET form. No console error or CSP violation."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import ConsoleMessage, Error, Locator, Page, async_playwright, expect

from tests.catalog.conftest import Shop
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script


def variant(sku: str, price: str, colour: str, size: str, on_hand: int, **extra: object) -> dict[str, object]:
    options = {"colour": colour, "size": size}
    return {"sku": sku, "price": price, "options": options, "stock": {"on_hand": on_hand}, **extra}


async def seed(shop: Shop) -> None:
    apparel = await shop.category("Apparel")
    brand = await shop.brand("Fieldday")
    other = await shop.brand("Loomline")
    await shop.product(
        "Trail Hoodie",
        price=None,
        category_id=apparel["id"],
        brand_id=brand["id"],
        variants=[
            variant("TH-NS", "40.00", "Navy", "S", 2, is_default=True),
            variant("TH-NM", "40.00", "Navy", "M", 0),
            variant("TH-BS", "42.00", "Black", "S", 10),
        ],
    )
    await shop.product(
        "Camp Tee",
        price=None,
        category_id=apparel["id"],
        brand_id=other["id"],
        variants=[variant("CT-WS", "15.00", "White", "S", 9), variant("CT-NM", "15.00", "Navy", "M", 9)],
    )


def option(page: Page, value: str) -> Locator:
    """The picker's button of ``value`` (its mark, if any, follows the value)."""
    exact = page.locator(".option__value", has_text=re.compile(f"^{re.escape(value)}$"))
    return page.locator(".option__label", has=exact)


async def pick_variants(page: Page) -> None:
    offer = page.locator("#offer")
    # Navy S is chosen: two left, said as a warning.
    low = offer.locator(".offer__stock")
    await expect(low).to_have_text("Only 2 left")
    red, green, blue = (
        int(n) for n in re.findall(r"\d+", await low.evaluate("e => getComputedStyle(e).color"))[:3]
    )
    assert not (green > red and green > blue), (red, green, blue)
    # Before anything is picked: M is sold out in navy, and says so.
    await expect(page.locator(".option__label", has_text="Sold out")).to_have_count(1)
    size_m = option(page, "M")
    await expect(size_m).to_contain_text("Sold out")
    await page.evaluate("window.__samePage = 'yes'")

    await size_m.click()
    await expect(offer.locator(".offer__stock")).to_have_text("Sold out", timeout=10_000)
    await expect(offer.get_by_role("button", name="Sold out")).to_be_disabled()
    await expect(offer.get_by_role("button", name="Add to cart")).to_have_count(0)
    # With M chosen, black is not sold at all: marked before it is picked.
    black = option(page, "Black")
    await expect(black).to_contain_text("Not available")

    await option(page, "S").click()
    await expect(black).not_to_contain_text("Not available", timeout=10_000)
    await black.click()
    await expect(offer.locator(".offer__amount")).to_have_text("$42.00", timeout=10_000)
    await expect(offer.locator(".offer__stock")).to_have_text("In stock")
    await expect(offer.get_by_role("button", name="Add to cart")).to_be_enabled()
    assert await page.evaluate("window.__samePage") == "yes"


async def test_variants_and_facets_in_chromium(
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
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            await page.add_init_script(violations_script())
            page.on("console", on_console)
            page.on("pageerror", on_page_error)

            # Two colours at once through the GET form, then a brand: the counts follow.
            await page.goto(live_shop.url + "/c/apparel", wait_until="networkidle")
            await expect(page.locator(".product-card")).to_have_count(2)
            await expect(page.locator(".facet__label", has_text="Navy")).to_contain_text("(2)")
            await page.get_by_label(re.compile(r"^White")).check()
            await page.get_by_label(re.compile(r"^Black")).check()
            await page.get_by_role("button", name="Show products").click()
            await page.wait_for_load_state("networkidle")
            assert page.url == live_shop.url + "/c/apparel?o.colour=Black&o.colour=White"
            await expect(page.locator(".product-card")).to_have_count(2)
            await page.get_by_label(re.compile(r"^Loomline")).check()
            await page.get_by_role("button", name="Show products").click()
            await page.wait_for_load_state("networkidle")
            await expect(page.locator(".product-card__name")).to_have_text(["Camp Tee"])
            # Within the brand, black is no longer there to add; white and navy are.
            await expect(page.get_by_label(re.compile(r"^White"))).to_be_checked()
            await expect(page.locator(".facet__label", has_text="Navy")).to_contain_text("(1)")
            await page.screenshot(path=str(artifacts / "facets-1280x800.png"), full_page=True)
            assert await page.evaluate("window.__cspViolations") == []

            await page.goto(live_shop.url + "/p/trail-hoodie", wait_until="networkidle")
            await pick_variants(page)
            await page.screenshot(path=str(artifacts / "variants-1280x800.png"), full_page=True)
            violations = await page.evaluate("window.__cspViolations")
            assert violations == [], violations
            await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
