"""A merchant in a real browser (Debian's chromium) builds a T-shirt of 4 sizes by 2 colours with the
option builder, prices the XL shirts higher, sets stock (the editor's "can sell" follows the typing),
uploads pictures through the file field and by dropping one on the upload area, and finds the shirt on
the storefront at the right prices: no console error and no CSP violation on the way."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from emporium.settings import AppSettings
from tests.admin.test_pages_browser import sign_in
from tests.catalog.conftest import Shop
from tests.catalog.media.images import plain
from tests.conftest import make_settings
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, _serve, violations_script, watch_page

DROP_FILE = """([data, name]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
  const files = new DataTransfer();
  files.items.add(new File([bytes], name, {type: "image/png"}));
  const zone = document.querySelector("[data-drop-zone]");
  zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: files, bubbles: true, cancelable: true}));
  zone.dispatchEvent(new DragEvent("drop", {dataTransfer: files, bubbles: true, cancelable: true}));
}"""


@pytest.fixture
def media_shop(settings: AppSettings, live_catalog: Shop, tmp_path: Path) -> Iterator[LiveShop]:
    """The shop served on loopback, its pictures kept in a temporary folder."""
    served = make_settings(
        settings.database_url, None, public_url="http://127.0.0.1", media_dir=str(tmp_path / "media")
    )
    for url in _serve(served):
        yield LiveShop(url, served)


async def _clean(page: Page) -> None:
    assert await page.evaluate("window.__cspViolations") == []


async def _build_grid(page: Page, url: str) -> None:
    await page.get_by_label("Option 1 name").fill("Size")
    await page.locator("#option-values-0").fill("S, M, L, XL")
    await page.get_by_label("Option 2 name").fill("Colour")
    await page.locator("#option-values-1").fill("Red, Navy")
    await page.get_by_label("Price of new variants (USD)").fill("20.00")
    await page.get_by_role("button", name="Save options").click()
    await expect(page.locator(".admin-flash--success")).to_contain_text("7 variants added")
    await expect(page.locator("tr[data-variant]")).to_have_count(8)
    await _clean(page)


async def _price_and_stock(page: Page) -> None:
    rows = page.locator("tr[data-variant]")
    for i in range(await rows.count()):
        row = rows.nth(i)
        vid = await row.get_attribute("data-variant")
        size = "XL" if "Size: XL" in await row.locator("th").inner_text() else "other"
        await page.locator(f"#price-{vid}").fill("24.00" if size == "XL" else "20.00")
    counts = page.locator("input[name^='on_hand.']")
    assert await counts.count() == 8
    for i in range(8):
        await counts.nth(i).fill("10")
    # The row's "can sell" follows the count typed, before anything is saved.
    first = await rows.nth(0).get_attribute("data-variant")
    await expect(page.locator(f"[data-can-sell='{first}']")).to_have_text("10")
    await page.get_by_role("button", name="Save variants and stock").first.click()
    await expect(page.locator(".admin-flash--success")).to_contain_text("Saved")
    await expect(page.locator(f"[data-can-sell='{first}']")).to_have_text("10")
    await _clean(page)


async def _pictures(page: Page, product_id: int) -> None:
    await page.get_by_role("link", name="Images").click()
    await page.wait_for_url(f"**/admin/products/{product_id}/images")
    await page.locator("#image-files").set_input_files(
        [{"name": "front.png", "mimeType": "image/png", "buffer": plain("PNG", 600, 600, (200, 30, 30))}]
    )
    await page.get_by_role("button", name="Upload").click()
    await expect(page.locator(".admin-flash--success")).to_have_text("1 picture uploaded.")
    dropped = base64.b64encode(plain("PNG", 500, 600, (30, 30, 200))).decode()
    await page.evaluate(DROP_FILE, [dropped, "back.png"])
    await expect(page.locator("[data-drop-note]")).to_have_text("1 file ready to upload.")
    await page.get_by_role("button", name="Upload").click()
    await expect(page.locator(".admin-flash--success")).to_have_text("1 picture uploaded.")
    await expect(page.locator(".admin-images__item")).to_have_count(2)
    await page.get_by_label("Alt text (what the picture shows)").first.fill("Red T-shirt, front")
    await page.get_by_role("button", name="Save picture 1").click()
    await expect(page.locator(".admin-flash--success")).to_have_text("Image saved.")
    await _clean(page)


async def test_a_merchant_builds_a_t_shirt_and_the_shop_sells_it(
    live_catalog: Shop, media_shop: LiveShop, chromium_path: Path, artifacts: Path
) -> None:
    live_shop = media_shop
    made = await live_catalog.product("Field Tee", price="20.00", on_hand=0)
    product_id, slug = made["id"], made["slug"]
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            await page.add_init_script(violations_script())
            watch_page(page, problems)
            await sign_in(page, live_shop.url, "live-admin@shop.test")
            url = f"{live_shop.url}/admin/products/{product_id}/variants"
            await page.goto(url, wait_until="networkidle")
            await _build_grid(page, url)
            await _price_and_stock(page)
            await page.screenshot(path=str(artifacts / "admin-variants.png"), full_page=True)
            await _pictures(page, product_id)
            await page.screenshot(path=str(artifacts / "admin-images.png"), full_page=True)

            await page.goto(f"{live_shop.url}/p/{slug}", wait_until="networkidle")
            offer = page.locator("#offer")
            await expect(offer.locator(".offer__amount")).to_have_text("$20.00")
            await expect(page.locator("img[alt='Red T-shirt, front']").first).to_be_visible()
            await page.get_by_text("XL", exact=True).click()
            await expect(offer.locator(".offer__amount")).to_have_text("$24.00", timeout=10_000)
            await page.get_by_text("Navy", exact=True).click()
            await expect(offer.locator(".offer__amount")).to_have_text("$24.00", timeout=10_000)
            await page.get_by_text("M", exact=True).click()
            await expect(offer.locator(".offer__amount")).to_have_text("$20.00", timeout=10_000)
            await expect(offer).to_contain_text("In stock")
            await _clean(page)
            await context.close()
        finally:
            await browser.close()
    assert problems == [], problems
