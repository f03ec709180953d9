"""Operations in a real browser (Debian's chromium): a super admin reads the system health, finds the mail
that died while the SMTP server was unreachable among the dead jobs, retries it (the shop, now keeping its
mail in the development mailbox, sends it in the background) and reads it in the mailbox, its HTML in the
sandboxed frame. No console error, no CSP violation anywhere."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from playwright.async_api import Dialog, Page, async_playwright, expect

from emporium.accounts.service import auth
from emporium.notifications.service import notifications
from emporium.settings import AppSettings
from tests.conftest import MakeContext, make_settings
from tests.support import STRONG_PASSWORD, free_port
from tests.web.conftest import CHROMIUM_ARGS, _serve, violations_script, watch_page

OWNER = "owner@shop.test"
CUSTOMER = "ada@example.com"


async def _dead_welcome_mail(make_committed_context: MakeContext) -> None:
    """A welcome mail queued while the SMTP server was unreachable: it used up its attempts and died."""
    down = make_committed_context(smtp_port=free_port(), smtp_timeout_seconds=2)
    async with down.db.session() as session:
        await auth.create_user(session, down, email=OWNER, password=STRONG_PASSWORD, role="super_admin")
        notifications.queue_email(
            session,
            to=CUSTOMER,
            template="welcome",
            context={"shop_name": "Emporium", "first_name": "<b>Ada</b>"},
        )
    await down.jobs.run_until_idle()


async def _sign_in(page: Page, url: str) -> None:
    await page.goto(url + "/admin", wait_until="networkidle")
    await page.get_by_label("E-mail").fill(OWNER)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(url + "/admin")


async def _reads_health(page: Page) -> None:
    await page.locator(".admin-sidebar__list").get_by_role("link", name="Health").click()
    await expect(page.locator("h1")).to_contain_text("System health")
    await expect(page.locator("#component-database")).to_have_attribute("data-up", "yes")
    await expect(page.locator("#component-cache")).to_have_attribute("data-up", "yes")
    await expect(page.locator("#component-broker")).to_have_attribute("data-up", "yes")
    await expect(page.locator("#migrations-state")).to_have_text("current")


async def _retries_the_dead_job(page: Page, artifacts: Path) -> None:
    await page.get_by_role("link", name="1", exact=True).click()  # the dead jobs' count
    await expect(page.locator("h1")).to_have_text("Jobs")
    row = page.locator(".ops-jobs tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("notifications.send_email")
    await expect(row.locator(".ops-error")).to_contain_text("SMTPConnectError")
    await page.screenshot(path=str(artifacts / "admin-jobs.png"), full_page=True)

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", accept)
    await row.get_by_role("button", name="Retry").click()
    await expect(page.locator(".admin-flash--success")).to_contain_text("queued again")


async def _reads_the_mail(page: Page, url: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        await page.goto(url + "/admin/mailbox", wait_until="networkidle")
        if await page.get_by_role("link", name="Welcome to Emporium").count() or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    await page.get_by_role("link", name="Welcome to Emporium").click()
    await expect(page.locator("h1")).to_have_text("Welcome to Emporium")
    await expect(page.locator(".ops-mail-text")).to_contain_text("Hello <b>Ada</b>,")
    frame = page.frame_locator("iframe.ops-mail-frame")
    await expect(frame.locator("body")).to_contain_text("Hello <b>Ada</b>,")
    await expect(frame.locator("b")).to_have_count(0)


async def test_health_a_dead_job_retried_and_its_mail_read(
    settings: AppSettings, make_committed_context: MakeContext, chromium_path: Path, artifacts: Path
) -> None:
    await _dead_welcome_mail(make_committed_context)
    served = make_settings(
        settings.database_url,
        None,
        public_url="http://127.0.0.1",
        jobs_run_in_process=True,
        jobs_poll_seconds=0.2,
    )
    problems: list[str] = []
    for url in _serve(served):
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context(viewport={"width": 1280, "height": 900})
                page = await context.new_page()
                await page.add_init_script(violations_script())
                watch_page(page, problems)
                await _sign_in(page, url)
                await _reads_health(page)
                assert await page.evaluate("window.__cspViolations") == []
                await page.screenshot(path=str(artifacts / "admin-health.png"), full_page=True)
                await _retries_the_dead_job(page, artifacts)
                assert await page.evaluate("window.__cspViolations") == []
                await _reads_the_mail(page, url)
                assert await page.evaluate("window.__cspViolations") == []
                await page.screenshot(path=str(artifacts / "admin-mailbox.png"), full_page=True)
            finally:
                await browser.close()
    assert problems == [], problems
