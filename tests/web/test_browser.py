"""The home page in a real browser (Debian's chromium, driven by Playwright): styled, free of console
errors and CSP violations, with search suggestions arriving through htmx; screenshots in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import ConsoleMessage, Error, async_playwright, expect

from tests.catalog.conftest import Shop
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script

VIEWPORTS = ((390, 844), (1280, 800))


async def test_home_page_in_chromium(
    live_catalog: Shop, live_shop: LiveShop, chromium_path: Path, artifacts: Path
) -> None:
    kitchen = await live_catalog.category("Kitchen")
    await live_catalog.category("Garden")
    for name, price in (("Copper Kettle", "49.00"), ("Cast Iron Pan", "35.50"), ("Bamboo Board", "18.25")):
        await live_catalog.product(name, price=price, is_featured=True, category_id=kitchen["id"])

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
                response = await page.goto(live_shop.url + "/", wait_until="networkidle")
                assert response is not None
                assert response.status == 200

                # The style sheet applied: the design system's colours and layout are in force.
                mark = page.locator(".logo__mark")
                await expect(mark).to_have_css("background-color", "rgb(11, 92, 173)")
                await expect(page.locator(".product-grid")).to_have_css("display", "grid")
                await expect(page.locator(".product-card")).to_have_count(3)
                await expect(page.get_by_role("link", name="Kitchen").first).to_be_visible()

                # Typing in the search box brings suggestions through htmx.
                await page.locator("#search-q").press_sequentially("kett", delay=40)
                suggestion = page.locator("#search-suggestions a", has_text="Copper Kettle")
                await expect(suggestion).to_be_visible(timeout=10_000)
                assert await suggestion.get_attribute("href") == "/p/copper-kettle"

                await page.screenshot(path=str(artifacts / f"home-{width}x{height}.png"), full_page=True)
                violations = await page.evaluate("window.__cspViolations")
                assert violations == [], violations
                await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
    for width, height in VIEWPORTS:
        assert (artifacts / f"home-{width}x{height}.png").stat().st_size > 10_000
