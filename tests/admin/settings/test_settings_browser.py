"""The merchant edits the store's name and the privacy policy in a real browser (Debian's chromium), with the
Markdown previewed as they type, and finds both on the storefront; every settings screen opens without a CSP
violation or a console error."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

from emporium.accounts.service import auth
from tests.catalog.conftest import Shop
from tests.conftest import MakeContext
from tests.support import STRONG_PASSWORD
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script, watch_page

OWNER = "settings-owner@shop.test"
SCREENS = ("/admin/settings", "/admin/settings/taxes", "/admin/settings/shipping", "/admin/settings/payments")


async def _sign_in(page: Page, url: str) -> None:
    await page.goto(url + "/admin", wait_until="networkidle")
    await page.get_by_label("E-mail").fill(OWNER)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(url + "/admin")


async def test_the_merchant_renames_the_shop_and_rewrites_the_privacy_policy(
    live_catalog: Shop,
    live_shop: LiveShop,
    make_committed_context: MakeContext,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        await auth.create_user(session, ctx, email=OWNER, password=STRONG_PASSWORD, role="super_admin")
    url = live_shop.url
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            await page.add_init_script(violations_script())
            watch_page(page, problems)
            await _sign_in(page, url)

            for screen in SCREENS:
                response = await page.goto(url + screen, wait_until="networkidle")
                assert response is not None
                assert response.status == 200, screen
                assert await page.evaluate("window.__cspViolations") == [], screen

            sidebar = page.get_by_role("navigation", name="Back office")
            await sidebar.get_by_role("link", name="Settings", exact=True).click()
            await page.get_by_label("Store name").fill("Corner Sweets")
            await page.get_by_role("button", name="Save settings").click()
            await expect(page.locator(".admin-flash")).to_contain_text("Settings saved.")
            await expect(page.locator(".admin-sidebar__shop")).to_have_text("Corner Sweets")

            await sidebar.get_by_role("link", name="Pages", exact=True).click()
            await page.get_by_role("link", name="Privacy policy").click()
            await expect(page).to_have_url(url + "/admin/pages/privacy")
            # htmx (a deferred script) must be listening before the typing starts.
            await page.wait_for_function("() => document.readyState === 'complete' && 'htmx' in window")
            text = page.get_by_label("Text (Markdown)")
            await text.fill(
                "## We keep little\n\nOnly what your **orders** need.\n\n<script>alert(1)</script>"
            )
            # The preview follows the typing (htmx), sanitised as the storefront will show it.
            await expect(page.locator("#page-preview")).to_contain_text("We keep little", timeout=15_000)
            await expect(page.locator("#page-preview h2")).to_have_text("We keep little")
            await expect(page.locator("#page-preview script")).to_have_count(0)
            await page.get_by_role("button", name="Save the page").click()
            await expect(page.locator(".admin-flash")).to_contain_text("saved")
            assert await page.evaluate("window.__cspViolations") == []

            await page.goto(url + "/", wait_until="networkidle")
            await expect(page.locator(".logo__name")).to_have_text("Corner Sweets")
            await expect(page).to_have_title("Corner Sweets")
            await (
                page.get_by_role("navigation", name="About the shop")
                .get_by_role("link", name="Privacy policy")
                .click()
            )
            await expect(page).to_have_url(url + "/pages/privacy")
            await expect(page.locator(".content-page h2")).to_have_text("We keep little")
            await expect(page.locator(".content-page strong")).to_have_text("orders")
            await expect(page.locator(".content-page script")).to_have_count(0)
            assert await page.evaluate("window.__cspViolations") == []
            await page.screenshot(path=str(artifacts / "admin-settings-privacy.png"), full_page=True)
            await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
