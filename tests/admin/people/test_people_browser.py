"""The people screens in a real browser (Debian's chromium): a customer's page with its confirmed action, a
staff member's page, and setting up two-factor sign-in from the QR code's page, with no CSP violation."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Dialog, Page, async_playwright, expect

from emporium.accounts.service import auth
from tests.admin.people.helpers import code
from tests.admin.test_pages_browser import sign_in
from tests.catalog.conftest import Shop
from tests.conftest import MakeContext
from tests.support import STRONG_PASSWORD, data
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script


async def _no_violations(page: Page) -> None:
    assert await page.evaluate("window.__cspViolations") == []


async def test_people_screens_in_a_browser(
    live_catalog: Shop,
    live_shop: LiveShop,
    chromium_path: Path,
    make_committed_context: MakeContext,
) -> None:
    registered = await live_catalog.client.post(
        "/api/v1/auth/register",
        json={
            "email": "ada@example.com",
            "password": STRONG_PASSWORD,
            "first_name": "Ada",
            "phone": "+12025550143",
        },
    )
    data(registered, 201)
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        agent = await auth.create_user(
            session, ctx, email="agent@shop.test", password=STRONG_PASSWORD, role="support"
        )
        customer = await auth.user_by_email(session, "ada@example.com")
        assert customer is not None
        agent_id, customer_id = agent.id, customer.id

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
            await page.add_init_script(violations_script())
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await sign_in(page, live_shop.url, "live-admin@shop.test")

            await page.goto(f"{live_shop.url}/admin/customers?q=(202) 555-0143", wait_until="networkidle")
            await page.get_by_role("link", name="ada@example.com").click()
            await expect(page.locator("h1")).to_have_text("ada@example.com")
            await _no_violations(page)

            async def accept(dialog: Dialog) -> None:
                await dialog.accept()

            page.once("dialog", accept)
            await page.get_by_role("button", name="Deactivate").click()
            await expect(page.locator(".admin-flash--success")).to_contain_text("deactivated")
            await expect(page).to_have_url(f"{live_shop.url}/admin/customers/{customer_id}")

            await page.goto(f"{live_shop.url}/admin/staff/{agent_id}", wait_until="networkidle")
            await page.get_by_label("Role").select_option("moderator")
            await page.get_by_role("button", name="Change the role").click()
            await expect(page.locator(".admin-flash--success")).to_contain_text("is now moderator")
            await _no_violations(page)

            await page.goto(f"{live_shop.url}/admin/account/security", wait_until="networkidle")
            await page.get_by_role("button", name="Set up two-factor sign-in").click()
            qr = page.locator("img.admin-people-qr")
            await expect(qr).to_be_visible()
            assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")
            secret = await page.locator(".admin-people-secret").inner_text()
            await page.get_by_label("Code from your app").fill(code(secret))
            await page.get_by_role("button", name="Switch on").click()
            await expect(page.locator("h1")).to_have_text("Your recovery codes")
            await expect(page.locator(".admin-people-codes li")).to_have_count(8)
            await _no_violations(page)
            assert errors == []
        finally:
            await browser.close()
