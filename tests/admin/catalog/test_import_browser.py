"""A merchant imports a catalog in a real browser (Debian's chromium): a file with a bad row is refused with
the row and column named; the fixed file is checked, applied (as a background job, its progress page
refreshed by htmx until the report), and its products are on the storefront's category page. Categories and
brands open too; no console error or CSP violation anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from emporium.accounts.service import auth
from emporium.catalog.schemas import CategoryIn
from emporium.catalog.taxonomy import taxonomy
from emporium.settings import AppSettings
from tests.conftest import MakeContext, make_settings
from tests.support import STRONG_PASSWORD
from tests.web.conftest import CHROMIUM_ARGS, _serve, violations_script, watch_page

MERCHANT = "merchant@shop.test"
HEADER = "product_slug,product_name,category_slug,brand,status,sku,variant_name,options,price,on_hand\n"
FIXED = HEADER + (
    "linen-napkin,Linen Napkin,linens,Loom,active,LN-1,Linen Napkin,,6.50,40\n"
    "linen-runner,Linen Runner,linens,Loom,active,LR-S,Runner 150 cm,length=150 cm,24.00,8\n"
    "linen-runner,,,,,LR-L,Runner 250 cm,length=250 cm,32.00,5\n"
    "linen-apron,Linen Apron,linens,Loom,active,LA-1,Linen Apron,,19.00,12\n"
)
BROKEN = FIXED.replace("LR-S,Runner 150 cm,length=150 cm,24.00", "LR-S,Runner 150 cm,length=150 cm,24.OO")


@pytest.fixture
def importing_shop(settings: AppSettings) -> Iterator[str]:
    """The shop served on loopback, running its jobs in the process; files over 3 rows import as a job."""
    served = make_settings(
        settings.database_url,
        None,
        public_url="http://127.0.0.1",
        jobs_run_in_process=True,
        jobs_poll_seconds=0.2,
        catalog_import_background_rows=3,
    )
    yield from _serve(served)


async def _sign_in(page: Page, url: str) -> None:
    await page.goto(url + "/admin", wait_until="networkidle")
    await page.get_by_label("E-mail").fill(MERCHANT)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(url + "/admin")


async def _check(page: Page, file: Path) -> None:
    await page.get_by_label("Catalog CSV").set_input_files(str(file))
    await page.get_by_role("button", name="Check the file").click()


async def test_a_merchant_fixes_a_bad_file_and_imports_it(
    make_committed_context: MakeContext,
    importing_shop: str,
    chromium_path: Path,
    artifacts: Path,
    tmp_path: Path,
) -> None:
    seeding = make_committed_context()
    async with seeding.db.session() as session:
        await auth.create_user(session, seeding, email=MERCHANT, password=STRONG_PASSWORD, role="admin")
        await taxonomy.create_category(session, CategoryIn(name="Linens", slug="linens"))
    broken, fixed = tmp_path / "linens.csv", tmp_path / "linens-fixed.csv"
    broken.write_text(BROKEN)
    fixed.write_text(FIXED)
    url = importing_shop
    problems: list[str] = []

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            await page.add_init_script(violations_script())
            watch_page(page, problems)
            await _sign_in(page, url)

            await page.goto(url + "/admin/catalog/import", wait_until="networkidle")
            await _check(page, broken)
            await expect(page.get_by_role("alert").first).to_contain_text("Nothing was imported: 1 problem")
            problem = page.locator(".admin-catalog-errors tbody tr")
            await expect(problem).to_have_count(1)
            await expect(problem.locator("td").nth(0)).to_have_text("3")
            await expect(problem.locator("td").nth(1)).to_have_text("price")
            # The refused file's page answers 422, which the browser logs; nothing else may be logged.
            assert problems == [
                "console error: Failed to load resource: the server responded with a status of 422 "
                "(Unprocessable Entity)"
            ]
            problems.clear()

            await _check(page, fixed)
            await expect(page.get_by_role("heading", name="The file is ready to import")).to_be_visible()
            await expect(page.locator(".admin-catalog-counts")).to_contain_text("Products created")
            await page.get_by_role("button", name="Apply the import").click()
            await expect(page.get_by_role("heading", name="Imported linens-fixed.csv")).to_be_visible(
                timeout=20_000
            )
            await expect(page.locator("#import-progress progress")).to_have_attribute("value", "4")
            await page.screenshot(path=str(artifacts / "admin-catalog-import.png"), full_page=True)
            assert await page.evaluate("window.__cspViolations") == []

            await page.goto(url + "/c/linens", wait_until="networkidle")
            for name in ("Linen Napkin", "Linen Runner", "Linen Apron"):
                await expect(page.get_by_text(name, exact=True).first).to_be_visible()

            for screen in ("/admin/categories", "/admin/brands"):
                await page.goto(url + screen, wait_until="networkidle")
                await expect(page.locator("h1")).to_have_text(screen.rsplit("/", 1)[1].capitalize())
            await expect(page.get_by_role("link", name="Loom")).to_be_visible()
            assert await page.evaluate("window.__cspViolations") == []
        finally:
            await browser.close()
    assert problems == [], problems
