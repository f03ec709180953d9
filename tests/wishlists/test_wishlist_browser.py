"""Wishlists in a real browser (Debian's chromium, driven by Playwright): a guest hearts a product on a
category page without a reload, signs in, finds it in their wishlist and moves it to the cart, whose count
in the header changes; the product page's heart shows its state; no console error or CSP violation;
screenshots in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import ConsoleMessage, Error, async_playwright, expect

from tests.catalog.conftest import Shop
from tests.conftest import sign_up
from tests.support import STRONG_PASSWORD
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script

EMAIL = "wren@example.com"


async def test_guest_hearts_signs_in_and_moves_to_the_cart_in_chromium(
    live_catalog: Shop, live_shop: LiveShop, chromium_path: Path, artifacts: Path
) -> None:
    kitchen = await live_catalog.category("Kitchen")
    await live_catalog.product("Linen Apron", price="18.00", category_id=kitchen["id"], on_hand=4)
    await live_catalog.product("Oak Spoon", price="6.00", category_id=kitchen["id"])
    await sign_up(live_catalog.client, EMAIL)
    url = live_shop.url
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

            # A guest hearts the apron on the category page: no reload, the heart is pressed.
            await page.goto(url + f"/c/{kitchen['slug']}", wait_until="networkidle")
            await page.evaluate("window.__samePage = 'yes'")
            card = page.locator(".product-card", has_text="Linen Apron")
            heart = card.get_by_role("button", name="Save Linen Apron to your wishlist")
            await expect(heart).to_have_attribute("aria-pressed", "false")
            await heart.click()
            await expect(card.locator(".heart")).to_have_attribute("aria-pressed", "true", timeout=10_000)
            assert await page.evaluate("window.__samePage") == "yes"
            await page.screenshot(path=str(artifacts / "wishlist-category-hearted.png"), full_page=True)

            # The product page's heart knows it is on the list.
            await page.goto(url + "/wishlist", wait_until="networkidle")
            await expect(page.locator(".wishlist-item__name")).to_have_text(["Linen Apron"])
            await page.get_by_role("link", name="Linen Apron").click()
            await page.wait_for_load_state("networkidle")
            await expect(page.locator(".heart-form .heart")).to_have_attribute(
                "aria-pressed", "true", timeout=10_000
            )

            # Signing in keeps the list: it joins the account's.
            await page.goto(url + "/account/sign-in?next=%2Faccount%2Fwishlist")
            await page.get_by_label("E-mail address").fill(EMAIL)
            await page.get_by_label("Password").fill(STRONG_PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await expect(page).to_have_url(url + "/account/wishlist")
            await expect(page.locator(".wishlist-item__name")).to_have_text(["Linen Apron"])
            await expect(page.locator("#cart-count")).to_have_text("0")
            await page.screenshot(path=str(artifacts / "wishlist-account.png"), full_page=True)

            # Move it to the cart: the header's count changes and the list is empty.
            await page.get_by_role("button", name="Move Linen Apron to cart").click()
            await expect(page.locator("#cart-count")).to_have_text("1")
            await expect(page.get_by_role("status").first).to_contain_text("Linen Apron is in your cart now.")
            await expect(page.locator(".wishlist-item")).to_have_count(0)
            await page.goto(url + "/cart")
            await expect(page.locator(".cart-line__name")).to_have_text(["Linen Apron"])
            violations = await page.evaluate("window.__cspViolations")
            assert violations == [], violations
            await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
