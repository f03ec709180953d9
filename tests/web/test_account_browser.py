"""The account area in a real browser (Debian's chromium, driven by Playwright): a customer registers,
confirms the address from the captured mail, signs in, orders, orders again and finds the order in the
history; every account page is screenshotted at phone and desktop widths into test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, ConsoleMessage, Error, Page, async_playwright, expect

from tests.catalog.conftest import Shop
from tests.conftest import MakeContext
from tests.orders.factory import ADDRESS, make_shipping
from tests.support import STRONG_PASSWORD, SmtpServer, bearer, data
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script

VIEWPORTS = ((390, 844), (1280, 800))
EMAIL = "grace@example.com"
PAGES = (
    ("overview", "/account"),
    ("orders", "/account/orders"),
    ("addresses", "/account/addresses"),
    ("address-form", "/account/addresses/new"),
    ("profile", "/account/profile"),
    ("password", "/account/password"),
    ("notifications", "/account/notifications"),
    ("privacy", "/account/privacy"),
)


async def sign_in(page: Page, url: str) -> None:
    await page.goto(url + "/account/orders")
    await expect(page).to_have_url(url + "/account/sign-in?next=%2Faccount%2Forders")
    await page.get_by_label("E-mail address").fill(EMAIL)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(url + "/account/orders")


async def test_register_verify_order_and_reorder_in_chromium(
    live_catalog: Shop,
    live_shop: LiveShop,
    make_committed_context: MakeContext,
    smtp: SmtpServer,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    # Mail leaves through the outbox: a context on the same database runs its jobs to the captured SMTP.
    mailer = make_committed_context()
    url = live_shop.url
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    async def new_page(context: BrowserContext) -> Page:
        page = await context.new_page()
        await page.add_init_script(violations_script())
        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        return page

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            width, height = VIEWPORTS[0]
            context = await browser.new_context(viewport={"width": width, "height": height})
            page = await new_page(context)

            # Register.
            await page.goto(url + "/account/register")
            await page.screenshot(
                path=str(artifacts / f"account-register-{width}x{height}.png"), full_page=True
            )
            await page.get_by_label("E-mail address").fill(EMAIL)
            await page.get_by_label("Password").fill(STRONG_PASSWORD)
            await page.get_by_label("First name").fill("Grace")
            await page.get_by_role("button", name="Create my account").click()
            await expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

            # The verification link of the captured mail lands on our page.
            await mailer.jobs.run_until_idle()
            [mail] = [m for m in smtp.sink.to(EMAIL) if "verify-email" in m.text]
            link = next(word for word in mail.text.split() if "/account/verify-email?token=" in word)
            parts = urlsplit(link)
            await page.goto(f"{url}{parts.path}?{parts.query}")
            await expect(page.get_by_text("Your e-mail address is confirmed.")).to_be_visible()

            # Sign in (the account pages send a guest to the sign-in form and back).
            await sign_in(page, url)
            await expect(page.get_by_text("You have not ordered anything yet")).to_be_visible()

            # An order, placed through the cart and orders APIs (the checkout pages are a separate part).
            product = await live_catalog.product("Linen Shirt", price="20.00", on_hand=10)
            async with mailer.db.session() as session:
                method = await make_shipping(session, price="5.00")
            api = live_catalog.client
            tokens = data(
                await api.post("/api/v1/auth/login", json={"email": EMAIL, "password": STRONG_PASSWORD})
            )
            headers = bearer(str(tokens["access_token"]))
            data(
                await api.post(
                    "/api/v1/cart/items", json={"product_id": product["id"], "quantity": 2}, headers=headers
                ),
                201,
            )
            body = {"shipping_address": ADDRESS, "shipping_method_id": method.id, "payment_method": "test"}
            order = data(await api.post("/api/v1/orders", json=body, headers=headers), 201)

            # The history shows it; its page has the timeline, the invoice and "Order again".
            await page.reload()
            await page.get_by_role("link", name=order["number"]).click()
            await expect(page.get_by_role("heading", name=f"Order {order['number']}")).to_be_visible()
            await expect(page.locator(".timeline__item").first).to_be_visible()
            await expect(page.get_by_role("link", name="Invoice (PDF)")).to_have_attribute(
                "href", f"/account/orders/{order['id']}/invoice.pdf"
            )
            await expect(page.locator(".cart-link__count")).to_have_text("0")
            await page.get_by_role("button", name="Order again").click()
            await expect(
                page.get_by_text("1 item from this order was put back in your cart.")
            ).to_be_visible()
            await expect(page.locator(".cart-link__count")).to_have_text("2")
            await page.screenshot(path=str(artifacts / f"account-order-{width}x{height}.png"), full_page=True)

            # An address through the form, so the address book has something to show.
            await page.goto(url + "/account/addresses/new")
            await page.get_by_label("Full name").fill("Grace Hopper")
            await page.get_by_label("Address", exact=True).fill("1 Navy Yard")
            await page.get_by_label("Postal code").fill("22202")
            await page.get_by_label("City").fill("Arlington")
            await page.get_by_label("State, province or region").fill("VA")
            await page.get_by_label("Country", exact=True).select_option("US")
            await page.get_by_role("button", name="Save the address").click()
            await expect(page.get_by_text("Your addresses were updated.")).to_be_visible()
            await expect(page.get_by_text("1 Navy Yard")).to_be_visible()
            await context.close()

            # Every account page at both widths, in a browser signed in afresh.
            for width, height in VIEWPORTS:
                context = await browser.new_context(viewport={"width": width, "height": height})
                page = await new_page(context)
                await sign_in(page, url)
                await expect(page.get_by_role("link", name=order["number"])).to_be_visible()
                await expect(page.locator(".account__menu")).to_have_css("display", "flex")
                for name, path in PAGES:
                    response = await page.goto(url + path, wait_until="networkidle")
                    assert response is not None
                    assert response.status == 200, path
                    violations = await page.evaluate("window.__cspViolations")
                    assert violations == [], (path, violations)
                    await page.screenshot(
                        path=str(artifacts / f"account-{name}-{width}x{height}.png"), full_page=True
                    )
                await page.goto(url + f"/account/orders/{order['id']}", wait_until="networkidle")
                await page.screenshot(
                    path=str(artifacts / f"account-order-{width}x{height}.png"), full_page=True
                )
                violations = await page.evaluate("window.__cspViolations")
                assert violations == [], violations
                await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
    for width, height in VIEWPORTS:
        for name, _ in PAGES:
            assert (artifacts / f"account-{name}-{width}x{height}.png").stat().st_size > 10_000
