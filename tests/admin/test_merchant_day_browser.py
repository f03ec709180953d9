"""A merchant's day in a real browser (Debian's chromium), the way a person clicks it: sign in with a
password and an authenticator code, read today's figures, find an order by the customer's phone typed in
another format, ship it with a tracking number (the customer's e-mail arrives at the SMTP test server),
refund one line of another order, and read both actions in the audit log. A support agent then sees the
same order without a refund button."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright, expect

from emporium.accounts.service import auth
from emporium.accounts.two_factor import two_factor
from emporium.app import create_app
from emporium.audit.schemas import Actor
from emporium.core.context import AppContext
from emporium.settings import AppSettings
from tests.admin.orders.conftest import two_line_order
from tests.conftest import MakeContext, make_settings, sign_up
from tests.support import STRONG_PASSWORD, CapturedMail, SmtpServer, asgi_client
from tests.web.conftest import CHROMIUM_ARGS, _serve, violations_script

OWNER = "owner@shop.test"
AGENT = "agent@shop.test"


@pytest.fixture
def mailing_shop(settings: AppSettings, smtp: SmtpServer) -> Iterator[str]:
    """The shop served on loopback, its jobs running in the process and sending mail to the SMTP test
    server."""
    served = make_settings(
        settings.database_url,
        smtp.port,
        public_url="http://127.0.0.1",
        jobs_run_in_process=True,
        jobs_poll_seconds=0.2,
    )
    yield from _serve(served)


async def _staff(ctx: AppContext) -> str:
    """The owner (a super admin with two-factor sign-in on) and a support agent; the owner's secret."""
    async with ctx.db.session() as session:
        owner = await auth.create_user(
            session, ctx, email=OWNER, password=STRONG_PASSWORD, role="super_admin"
        )
        await auth.create_user(session, ctx, email=AGENT, password=STRONG_PASSWORD, role="support")
        two_factor.start_enrolment(ctx, owner)
        secret = str(owner.totp_secret)
        await two_factor.confirm_enrolment(
            session, ctx, owner, pyotp.TOTP(secret).now(), Actor(owner.id, owner.email)
        )
    return secret


async def _sign_in(page: Page, url: str, email: str, secret: str | None = None) -> None:
    await page.goto(url + "/admin", wait_until="networkidle")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    if secret is not None:
        await expect(page.get_by_label("Code")).to_be_visible()
        # The enrolment used this time step: the next one is still accepted, and is not a replay.
        await page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
        await page.get_by_role("button", name="Continue").click()
    await expect(page).to_have_url(url + "/admin")


async def _new_page(browser: Browser, problems: list[str]) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.add_init_script(violations_script())

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    return page


async def test_a_merchant_runs_the_day_from_the_back_office(
    make_committed_context: MakeContext,
    mailing_shop: str,
    smtp: SmtpServer,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    seeding = make_committed_context()
    async with asgi_client(create_app(ctx=seeding)) as client:
        ada = await sign_up(client, "ada@example.com")
        to_ship = await two_line_order(client, seeding, ada)
        bob = await sign_up(client, "bob@example.com")
        to_refund = await two_line_order(client, seeding, bob)
    secret = await _staff(seeding)
    url = mailing_shop
    problems: list[str] = []

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = await _new_page(browser, problems)
            await _sign_in(page, url, OWNER, secret)
            await _sees_todays_figures(page)
            await _ships_an_order_found_by_phone(page, url, to_ship["number"])
            await _refunds_one_line(page, url, to_refund["number"])
            await _reads_the_audit_log(page, url, to_ship["number"], to_refund["number"])
            assert await page.evaluate("window.__cspViolations") == []
            await page.screenshot(path=str(artifacts / "admin-merchant-day.png"), full_page=True)

            agent = await _new_page(browser, problems)
            await _sign_in(agent, url, AGENT)
            await agent.goto(f"{url}/admin/orders/{to_refund['id']}", wait_until="networkidle")
            await expect(agent.locator("h1")).to_have_text(f"Order {to_refund['number']}")
            await expect(agent.get_by_role("button", name="Refund")).to_have_count(0)
            assert await agent.evaluate("window.__cspViolations") == []
        finally:
            await browser.close()
    assert problems == [], problems
    shipped = await _mail_arrives(smtp, "ada@example.com", "is shipped")
    assert len(shipped) == 1
    assert "1Z999AA10123456784" in shipped[0].text


async def _mail_arrives(smtp: SmtpServer, address: str, subject: str) -> list[CapturedMail]:
    """The shop sends its mail from a job a moment after the change: wait for it a little."""
    deadline = time.monotonic() + 20
    while True:
        found = [m for m in smtp.sink.to(address) if subject in m.subject]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def _sees_todays_figures(page: Page) -> None:
    await page.get_by_role("link", name="Today", exact=True).click()
    await expect(page.get_by_role("link", name="Today", exact=True)).to_have_attribute("aria-current", "page")
    # Two orders of 59.00 each, paid today.
    revenue = page.locator(".admin-figure").filter(has_text="Revenue")
    await expect(revenue.locator(".admin-figure__value")).to_have_text("$118.00")
    orders = page.locator(".admin-figure").filter(has=page.locator(".admin-figure__label", has_text="Orders"))
    await expect(orders.first.locator(".admin-figure__value")).to_have_text("2")


async def _ships_an_order_found_by_phone(page: Page, url: str, number: str) -> None:
    await page.goto(url + "/admin/orders", wait_until="networkidle")
    await page.get_by_label("Number, e-mail, name or phone").fill("(202) 555-0143")
    await page.get_by_role("button", name="Filter").click()
    await page.get_by_role("link", name=number).click()
    await expect(page.locator("h1")).to_have_text(f"Order {number}")
    await page.get_by_role("button", name="Mark as processing").click()
    await expect(page.locator(".admin-flash--success")).to_contain_text("marked as processing")
    await page.get_by_label("Carrier").fill("UPS")
    await page.get_by_label("Tracking number").fill("1Z999AA10123456784")
    await page.get_by_role("button", name="Mark as shipped and e-mail the customer").click()
    await expect(page.locator(".admin-flash--success")).to_be_visible()
    await expect(page.locator(".admin-orders-timeline")).to_contain_text("1Z999AA10123456784")


async def _refunds_one_line(page: Page, url: str, number: str) -> None:
    await page.goto(url + "/admin/search", wait_until="networkidle")
    await page.locator("body").press("/")
    await page.keyboard.type(number)
    await page.keyboard.press("Enter")
    await expect(page.locator("h1")).to_have_text(f"Order {number}")
    # The teapot line (one unit at 30.00): refunded alone, without shipping.
    teapot = page.get_by_label("Units of Teapot")
    await teapot.first.fill("1")
    await page.get_by_label("Reason (kept in the ledger)").fill("Arrived chipped")
    await page.get_by_role("button", name="Refund").click()
    await expect(page.locator(".admin-flash--success")).to_contain_text("30.00")


async def _reads_the_audit_log(page: Page, url: str, shipped: str, refunded: str) -> None:
    await page.goto(url + "/admin/audit", wait_until="networkidle")
    rows = page.locator(".admin-table tbody tr")
    await expect(rows.filter(has_text=shipped).filter(has_text="order.shipped")).to_have_count(1)
    await expect(rows.filter(has_text=refunded).filter(has_text="refund")).not_to_have_count(0)
    await expect(rows.filter(has_text=OWNER).first).to_be_visible()
