"""/api/docs in a real browser (Debian's chromium, driven by Playwright), with every request off this host
refused: Swagger UI comes from the shop itself, draws the API under the shop's Content-Security-Policy with
no console error and no violation, and its "Try it out" calls the API."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import ConsoleMessage, Error, Route, async_playwright, expect

from tests.catalog.conftest import Shop
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script


async def test_api_docs_load_offline_in_chromium_without_errors_or_csp_violations(
    live_catalog: Shop, live_shop: LiveShop, chromium_path: Path, artifacts: Path
) -> None:
    await live_catalog.product("Docs Lamp", price="12.00")
    problems: list[str] = []
    elsewhere: list[str] = []
    own_host = urlsplit(live_shop.url).netloc

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    async def offline(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own_host or route.request.url.startswith("data:"):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.route("**/*", offline)
            page = await context.new_page()
            await page.add_init_script(violations_script())
            page.on("console", on_console)
            page.on("pageerror", on_page_error)
            response = await page.goto(live_shop.url + "/api/docs", wait_until="networkidle")
            assert response is not None
            assert response.status == 200
            assert "script-src 'self'" in (await response.header_value("content-security-policy") or "")

            await expect(page.locator(".swagger-ui .info .title")).to_contain_text("API")
            path = page.locator(".opblock-summary-path[data-path='/api/v1/products']")
            products = page.locator(".opblock-get", has=path)
            await expect(products).to_be_visible(timeout=15_000)

            # Try it out: Swagger UI calls the shop's own API from the page (connect-src 'self').
            await products.locator(".opblock-summary").click()
            await products.get_by_role("button", name="Try it out").click()
            await products.get_by_role("button", name="Execute").click()
            await expect(
                products.locator(".live-responses-table tbody .response-col_status").first
            ).to_contain_text("200", timeout=15_000)
            await expect(products.locator(".live-responses-table")).to_contain_text("Docs Lamp")

            await page.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)
            violations = await page.evaluate("window.__cspViolations")
            assert violations == [], violations
            await context.close()
        finally:
            await browser.close()
    assert elsewhere == [], elsewhere
    assert problems == [], problems
