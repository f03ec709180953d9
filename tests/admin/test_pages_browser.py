"""Every back-office screen in a real browser (Debian's chromium): signed in through the form, each section
of the sidebar opened, none with a CSP violation or a console error, usable on a laptop and a tablet."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

from tests.catalog.conftest import Shop
from tests.support import STRONG_PASSWORD
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script, watch_page

VIEWPORTS = ((1280, 800), (820, 1180))


async def sign_in(page: Page, url: str, email: str) -> None:
    await page.goto(url + "/admin/audit", wait_until="networkidle")
    await expect(page).to_have_url(url + "/admin/sign-in?next=/admin/audit")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(url + "/admin/audit")


async def test_every_section_opens_cleanly(
    live_catalog: Shop, live_shop: LiveShop, chromium_path: Path, artifacts: Path
) -> None:
    problems: list[str] = []

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            for width, height in VIEWPORTS:
                context = await browser.new_context(viewport={"width": width, "height": height})
                page = await context.new_page()
                await page.add_init_script(violations_script())
                watch_page(page, problems)
                await sign_in(page, live_shop.url, "live-admin@shop.test")
                links = page.locator(".admin-sidebar__list a")
                hrefs = [await links.nth(i).get_attribute("href") for i in range(await links.count())]
                assert "/admin/audit" in hrefs
                for href in hrefs:
                    response = await page.goto(live_shop.url + str(href), wait_until="networkidle")
                    assert response is not None
                    assert response.status == 200, href
                    await expect(page.locator("h1").first).to_be_visible()
                    violations = await page.evaluate("window.__cspViolations")
                    assert violations == [], (href, violations)
                # "/" puts the caret in the global search, from anywhere but a text box.
                await page.locator("body").press("/")
                await expect(page.locator("#admin-search-q")).to_be_focused()
                await page.screenshot(path=str(artifacts / f"admin-{width}x{height}.png"), full_page=True)
                await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
