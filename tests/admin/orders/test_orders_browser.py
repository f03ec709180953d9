"""The Orders screens in a real browser (Debian's chromium): the table, a search, the order page and two of
its actions, on a laptop and a tablet, with no CSP violation and no console error."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import async_playwright, expect

from tests.admin.orders.conftest import goods, make_order
from tests.admin.test_pages_browser import sign_in
from tests.catalog.conftest import Shop
from tests.conftest import MakeContext
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script, watch_page

VIEWPORTS = ((1280, 800), (820, 1180))


async def test_staff_find_an_order_and_act_on_it(
    live_catalog: Shop,
    live_shop: LiveShop,
    make_committed_context: MakeContext,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        made = await goods(session)
        orders = [
            await make_order(
                session,
                made,
                status="confirmed",
                payment_method="cash_on_delivery",
                stock_state="deducted",
                contact_phone=f"+1202555014{n}",
            )
            for n in range(2)
        ]
    problems: list[str] = []

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            for (width, height), order in zip(VIEWPORTS, orders, strict=True):
                context = await browser.new_context(viewport={"width": width, "height": height})
                page = await context.new_page()
                await page.add_init_script(violations_script())
                watch_page(page, problems)
                await sign_in(page, live_shop.url, "live-admin@shop.test")
                await page.goto(live_shop.url + "/admin/orders", wait_until="networkidle")
                await expect(page.locator("h1")).to_have_text("Orders")
                await page.get_by_label("Number, e-mail, name or phone").fill(
                    f"(202) 555-014{orders.index(order)}"
                )
                await page.get_by_role("button", name="Filter").click()
                await expect(page.locator(".admin-orders-table tbody tr")).to_have_count(1)
                assert await page.evaluate("window.__cspViolations") == []
                await page.screenshot(
                    path=str(artifacts / f"admin-orders-{width}x{height}.png"), full_page=True
                )
                await page.get_by_role("link", name=order.number).click()
                await expect(page.locator("h1")).to_have_text(f"Order {order.number}")
                await page.get_by_label("Internal note (staff only, never shown to the customer)").fill(
                    "Gift wrap, please"
                )
                await page.get_by_role("button", name="Add note").click()
                await expect(page.locator(".admin-flash--success")).to_have_text("Internal note added.")
                await expect(page.locator(".admin-orders-timeline")).to_contain_text("Gift wrap, please")
                await page.get_by_role("button", name="Mark as processing").click()
                await expect(page.locator(".admin-flash--success")).to_contain_text("marked as processing")
                assert await page.evaluate("window.__cspViolations") == []
                await page.screenshot(
                    path=str(artifacts / f"admin-order-{width}x{height}.png"), full_page=True
                )
                await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
