"""A merchant's catalog day in a real browser (Debian's chromium), the way a person clicks it: a T-shirt made
from "Add a product" with 4 sizes by 2 colours, prices, stock and pictures, published and found in the shop;
a sweet whose three boxes share a gram pool, one box bought through the shop's checkout pages and the editor
showing what the 1 kg box can still sell; the catalog exported from a filter, a price changed in the file and
imported back; and tax, shipping and payment settings changed and seen at checkout. Every page is watched:
no console error and no CSP violation."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, FilePayload, Page, async_playwright, expect

from emporium.accounts.service import auth
from emporium.settings import AppSettings
from tests.admin.test_pages_browser import sign_in
from tests.catalog.conftest import Shop
from tests.catalog.media.images import plain
from tests.conftest import MakeContext, make_settings
from tests.orders.factory import make_shipping, make_tax
from tests.support import STRONG_PASSWORD
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, _serve, violations_script, watch_page

OWNER = "owner@shop.test"
EN_DASH = "\N{EN DASH}"
TIMES = "\N{MULTIPLICATION SIGN}"


@pytest.fixture
def shop_with_media(settings: AppSettings, live_catalog: Shop, tmp_path: Path) -> Iterator[LiveShop]:
    """The shop served on loopback, its pictures kept in a temporary folder."""
    served = make_settings(
        settings.database_url, None, public_url="http://127.0.0.1", media_dir=str(tmp_path / "media")
    )
    for url in _serve(served):
        yield LiveShop(url, served)


async def _owner(make_committed_context: MakeContext) -> None:
    """The shop's owner, a super admin."""
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        await auth.create_user(session, ctx, email=OWNER, password=STRONG_PASSWORD, role="super_admin")


async def _new_page(browser: Browser, problems: list[str]) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.add_init_script(violations_script())
    watch_page(page, problems)
    return page


async def _clean(page: Page) -> None:
    assert await page.evaluate("window.__cspViolations") == [], page.url


async def _add_product(page: Page, url: str, name: str, sku: str, price: str, on_hand: str) -> int:
    """ "Add a product" from the product list, left a draft; the new product's id."""
    await page.goto(url + "/admin/products", wait_until="networkidle")
    await page.get_by_role("link", name="Add a product").first.click()
    await expect(page.locator("h1")).to_have_text("New product")
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("SKU").fill(sku)
    await page.get_by_label("Price (USD)").fill(price)
    await page.get_by_label("Stock on hand (pieces)").fill(on_hand)
    await page.get_by_role("button", name="Create the product").click()
    await expect(page.locator(".admin-flash--success")).to_contain_text("is created")
    await expect(page.locator("h1")).to_have_text(name)
    await _clean(page)
    found = re.search(r"/admin/products/(\d+)$", page.url)
    assert found, page.url
    return int(found.group(1))


async def _tab(page: Page, name: str) -> None:
    await page.locator(".admin-tabs").get_by_role("link", name=name).click()
    await expect(page.locator(".admin-tabs__link--here")).to_have_text(name)


async def _sizes_and_colours(page: Page) -> None:
    """4 sizes by 2 colours from the option builder; the XL shirts priced higher; 10 of each in stock."""
    await page.get_by_label("Option 1 name").fill("Size")
    await page.locator("#option-values-0").fill("S, M, L, XL")
    await page.get_by_label("Option 2 name").fill("Colour")
    await page.locator("#option-values-1").fill("Red, Navy")
    await page.get_by_label("Price of new variants (USD)").fill("20.00")
    await page.get_by_role("button", name="Save options").click()
    await expect(page.locator(".admin-flash--success")).to_contain_text("7 variants added")
    rows = page.locator("tr[data-variant]")
    await expect(rows).to_have_count(8)
    await _clean(page)
    for i in range(8):
        vid = await rows.nth(i).get_attribute("data-variant")
        xl = "Size: XL" in await rows.nth(i).locator("th").inner_text()
        await page.locator(f"#price-{vid}").fill("24.00" if xl else "20.00")
    counts = page.locator("input[name^='on_hand.']")
    await expect(counts).to_have_count(8)
    for i in range(8):
        await counts.nth(i).fill("10")
    await page.get_by_role("button", name="Save variants and stock").first.click()
    await expect(page.locator(".admin-flash--success")).to_contain_text("Saved")
    for i in range(8):
        vid = await rows.nth(i).get_attribute("data-variant")
        await expect(page.locator(f"[data-can-sell='{vid}']")).to_have_text("10")
    await _clean(page)


async def _picture(page: Page) -> None:
    """One picture uploaded through the file field, described for shoppers who cannot see it."""
    front: FilePayload = {"name": "front.png", "mimeType": "image/png", "buffer": plain("PNG", 600, 600)}
    await page.locator("#image-files").set_input_files([front])
    await page.get_by_role("button", name="Upload").click()
    await expect(page.locator(".admin-flash--success")).to_have_text("1 picture uploaded.")
    await expect(page.locator(".admin-images__item")).to_have_count(1)
    await page.get_by_label("Alt text (what the picture shows)").fill("Red T-shirt, front")
    await page.get_by_role("button", name="Save picture 1").click()
    await expect(page.locator(".admin-flash--success")).to_have_text("Image saved.")
    await _clean(page)


async def _to_review(page: Page, url: str, slug: str, choice: tuple[str, str] | None = None) -> None:
    """A guest puts one of the product in the cart (with ``choice``, the option value picked and the price
    it shows) and gives the details of a delivery to the United States; the review page is open."""
    await page.goto(f"{url}/p/{slug}", wait_until="networkidle")
    if choice is not None:
        value, price = choice
        await page.get_by_text(value, exact=True).click()
        await expect(page.locator("#offer .offer__amount")).to_have_text(price, timeout=10_000)
    await page.get_by_role("button", name="Add to cart").click()
    await page.wait_for_url(url + "/cart")
    await expect(page.locator("#cart-count")).to_have_text("1")
    await page.get_by_role("link", name="Check out").click()
    await page.get_by_label("Full name").fill("Ada Lovelace")
    await page.get_by_label("Phone").fill("+1 202 555 0199")
    await page.get_by_label("E-mail address").fill("ada@example.com")
    await page.get_by_label("Recipient's name").fill("Ada Lovelace")
    await page.get_by_label("Address", exact=True).fill("1 Analytical Way")
    await page.get_by_label("City").fill("Arlington")
    await page.get_by_label("State, province or region").fill("VA")
    await page.get_by_label("Postal code").fill("22202")
    await page.get_by_label("Country", exact=True).select_option("US")
    await page.get_by_role("button", name="Continue to shipping and payment").click()
    await expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    await _clean(page)


# 1. A T-shirt from "Add a product" to the shop -----------------------------------------------------------


async def test_a_super_admin_adds_a_t_shirt_and_finds_it_in_the_shop(
    make_committed_context: MakeContext, shop_with_media: LiveShop, chromium_path: Path, artifacts: Path
) -> None:
    await _owner(make_committed_context)
    url = shop_with_media.url
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = await _new_page(browser, problems)
            await sign_in(page, url, OWNER)
            product_id = await _add_product(page, url, "Harbour Tee", "TEE-HARBOUR", "20.00", "10")
            await expect(page.get_by_role("link", name="View in the shop")).to_have_count(0)

            await _tab(page, "Variants and stock")
            await _sizes_and_colours(page)
            await _tab(page, "Images")
            await expect(page).to_have_url(f"{url}/admin/products/{product_id}/images")
            await _picture(page)

            await _tab(page, "Details")
            await page.locator("#f-status").select_option("active")
            await page.get_by_role("button", name="Save").click()
            await expect(page.locator(".admin-flash--success")).to_have_text("Saved.")
            await _clean(page)

            await page.goto(url + "/admin/products?q=harbour", wait_until="networkidle")
            row = page.locator(".admin-products-table tbody tr")
            await expect(row).to_have_count(1)
            await expect(row).to_contain_text("Active")
            await expect(row).to_contain_text(f"20.00{EN_DASH}24.00")
            await expect(row).to_contain_text("+7")
            await _clean(page)

            await row.get_by_role("link", name="Harbour Tee").click()
            await page.get_by_role("link", name="View in the shop").click()
            await page.wait_for_url(url + "/p/harbour-tee")
            await expect(page.locator("h1")).to_contain_text("Harbour Tee")
            offer = page.locator("#offer")
            await expect(offer.locator(".offer__amount")).to_have_text("$20.00")
            await expect(offer).to_contain_text("In stock")
            picture = page.locator("img[alt='Red T-shirt, front']").first
            await expect(picture).to_be_visible()
            assert await picture.evaluate("img => img.complete && img.naturalWidth > 0")
            await page.get_by_text("XL", exact=True).click()
            await expect(offer.locator(".offer__amount")).to_have_text("$24.00", timeout=10_000)
            await page.get_by_text("Navy", exact=True).click()
            await expect(offer.locator(".offer__amount")).to_have_text("$24.00", timeout=10_000)
            await page.get_by_text("S", exact=True).click()
            await expect(offer.locator(".offer__amount")).to_have_text("$20.00", timeout=10_000)
            await expect(offer).to_contain_text("In stock")
            await page.screenshot(path=str(artifacts / "catalog-day-tee.png"), full_page=True)
            await _clean(page)
        finally:
            await browser.close()
    assert problems == [], problems


# 2. A sweet's boxes on one gram pool, one box bought in the shop ------------------------------------------


async def _gram_pool(page: Page) -> tuple[list[str], str]:
    """The three boxes made with the option builder, then put on the first box's pool, counted in grams;
    the variants' ids (250 g, 500 g, 1 kg) and the shared pool's id."""
    await page.get_by_label("Option 1 name").fill("Weight")
    await page.locator("#option-values-0").fill("250 g, 500 g, 1 kg")
    await page.get_by_label("Price of new variants (USD)").fill("4.00")
    await page.get_by_role("button", name="Save options").click()
    await expect(page.locator(".admin-flash--success")).to_contain_text("2 variants added")
    rows = page.locator("tr[data-variant]")
    await expect(rows).to_have_count(3)
    ids: list[str] = []
    for weight in ("250 g", "500 g", "1 kg"):
        vid = await rows.filter(has_text=f"Weight: {weight}").get_attribute("data-variant")
        assert vid is not None
        ids.append(vid)
    shared = await page.locator(f"#pool-{ids[0]}").input_value()
    for vid, draw, price in zip(ids, ("250", "500", "1000"), ("4.00", "7.50", "14.00"), strict=True):
        await page.locator(f"#pool-{vid}").select_option(shared)
        await page.locator(f"#draw-{vid}").fill(draw)
        await page.locator(f"#price-{vid}").fill(price)
    await page.locator(f"#unit-{shared}").select_option("g")
    await page.locator(f"#on-hand-{shared}").fill("5000")
    await page.get_by_role("button", name="Save variants and stock").first.click()
    await expect(page.locator(".admin-flash--success")).to_contain_text("Saved")
    await _clean(page)
    return ids, shared


async def _can_sell(page: Page, ids: list[str]) -> list[str]:
    return [await page.locator(f"[data-can-sell='{vid}']").inner_text() for vid in ids]


async def test_a_shop_purchase_of_a_500_g_box_leaves_the_1_kg_box_less_to_sell(
    make_committed_context: MakeContext,
    live_shop: LiveShop,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    await _owner(make_committed_context)
    seeding = make_committed_context()
    async with seeding.db.session() as session:
        await make_shipping(session, price="4.00", name="Standard post")
        await session.commit()
    url = live_shop.url
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = await _new_page(browser, problems)
            await sign_in(page, url, OWNER)
            await _add_product(page, url, "Walnut Fudge", "FUDGE", "4.00", "0")
            await page.locator("#f-status").select_option("active")
            await page.get_by_role("button", name="Save").click()
            await expect(page.locator(".admin-flash--success")).to_have_text("Saved.")
            await _tab(page, "Variants and stock")
            ids, shared = await _gram_pool(page)
            # One pool left, in grams, 5,000 on hand: 20 small boxes, 10 medium or 5 large.
            pools = page.locator("tr[id^='pool-row-']")
            await expect(pools).to_have_count(1)
            pool = page.locator(f"#pool-row-{shared}")
            await expect(pool.locator("td.num").nth(0)).to_have_text("0")
            await expect(pool.locator("td.num").nth(1)).to_have_text("5000")
            assert await _can_sell(page, ids) == ["20", "10", "5"]
            await page.screenshot(path=str(artifacts / "catalog-day-gram-pool.png"), full_page=True)

            shopper = await _new_page(browser, problems)
            await _to_review(shopper, url, "walnut-fudge", ("500 g", "$7.50"))
            await expect(shopper.locator(".review-line")).to_contain_text(f"1 {TIMES} Walnut Fudge")
            await expect(shopper.locator(".review-line")).to_contain_text("500 g")
            await expect(shopper.locator(".totals__row--grand")).to_contain_text("$11.50")  # 7.50 + 4.00
            await shopper.get_by_label("Cash on delivery").check()
            await shopper.get_by_role("button", name="Place order").click()
            await shopper.wait_for_url(re.compile(r".*/orders/ORD-\d{4}-\d{6}/thanks"))
            await expect(shopper.locator("h1")).to_have_text(
                re.compile("Thank you for your order|Your order is placed")
            )
            await _clean(shopper)

            # 500 g reserved: 4,500 available, so 18 small, 9 medium and only 4 large boxes.
            await page.reload(wait_until="networkidle")
            await expect(pool.locator("td.num").nth(0)).to_have_text("500")
            await expect(pool.locator("td.num").nth(1)).to_have_text("4500")
            assert await _can_sell(page, ids) == ["18", "9", "4"]
            await _clean(page)
        finally:
            await browser.close()
    assert problems == [], problems


# 3. Export a filter, change a price in the file, import it back --------------------------------------------


def _reprice(exported: Path, edited: Path) -> None:
    """The exported file holds the filter's two teas and nothing else; Green Tea's price goes from 7.00 to
    7.75 in the edited copy, every other cell as exported."""
    table = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8"))))
    assert sorted(row["product_slug"] for row in table) == ["assam-tea", "green-tea"]
    [green] = [row for row in table if row["product_slug"] == "green-tea"]
    assert green["price"] == "7.00"
    green["price"] = "7.75"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    edited.write_text(out.getvalue(), encoding="utf-8")


async def test_a_filtered_export_edited_and_imported_changes_the_shop_price(
    make_committed_context: MakeContext,
    live_catalog: Shop,
    live_shop: LiveShop,
    chromium_path: Path,
    tmp_path: Path,
) -> None:
    await _owner(make_committed_context)
    teas = await live_catalog.category("Teas")
    mugs = await live_catalog.category("Mugs")
    await live_catalog.product("Assam Tea", "8.00", on_hand=30, category_id=teas["id"])
    await live_catalog.product("Green Tea", "7.00", on_hand=30, category_id=teas["id"])
    await live_catalog.product("Harbour Mug", "12.00", on_hand=30, category_id=mugs["id"])
    url = live_shop.url
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = await _new_page(browser, problems)
            await sign_in(page, url, OWNER)
            await page.goto(url + "/admin/products", wait_until="networkidle")
            await page.locator("#f-category").select_option(label="Teas")
            await page.get_by_role("button", name="Filter").click()
            rows = page.locator(".admin-products-table tbody tr")
            await expect(rows).to_have_count(2)
            await expect(rows.filter(has_text="Harbour Mug")).to_have_count(0)
            await _clean(page)

            async with page.expect_download() as info:
                await page.get_by_role("link", name="Export this filter").click()
            download = await info.value
            assert download.suggested_filename.startswith("catalog-")
            edited = tmp_path / "teas.csv"
            _reprice(Path(await download.path()), edited)
            await page.get_by_role("link", name="Import").click()
            await expect(page.locator("h1")).to_have_text("Import products")
            await page.get_by_label("Catalog CSV").set_input_files(str(edited))
            await page.get_by_role("button", name="Check the file").click()
            await expect(page.get_by_role("heading", name="The file is ready to import")).to_be_visible()
            counts = page.locator(".admin-catalog-counts")
            await expect(counts.locator("div").filter(has_text="Rows").locator("dd")).to_have_text("2")
            created = counts.locator("div").filter(has_text="Products created").locator("dd")
            await expect(created).to_have_text("0")
            await _clean(page)
            # Nothing is written by the check: the shop still sells at the old price.
            shop = await _new_page(browser, problems)
            await shop.goto(url + "/p/green-tea", wait_until="networkidle")
            await expect(shop.locator("#offer .offer__amount")).to_have_text("$7.00")
            await page.get_by_role("button", name="Apply the import").click()
            await expect(page.locator(".admin-flash--success")).to_contain_text(
                "Imported 2 rows: 0 products created"
            )
            await _clean(page)

            await page.goto(url + "/admin/products?q=green", wait_until="networkidle")
            await expect(rows).to_have_count(1)
            await expect(rows.locator("td.num").first).to_have_text("7.75")

            await shop.reload(wait_until="networkidle")
            await expect(shop.locator("#offer .offer__amount")).to_have_text("$7.75")
            await shop.goto(url + "/p/assam-tea", wait_until="networkidle")
            await expect(shop.locator("#offer .offer__amount")).to_have_text("$8.00")
            await _clean(shop)
        finally:
            await browser.close()
    assert problems == [], problems


# 4. Tax, shipping and payment settings, seen at checkout -------------------------------------------------


async def _settings(page: Page, url: str) -> None:
    await page.goto(url + "/admin/settings/taxes", wait_until="networkidle")
    await page.get_by_role("link", name="Edit Tax US").click()
    await page.get_by_label("Rate (%)").fill("7.5")
    await page.get_by_role("button", name="Save the rate").click()
    await expect(page.locator(".admin-flash")).to_contain_text("Tax rate Tax US saved.")
    await expect(page.locator("tbody tr").filter(has_text="Tax US")).to_contain_text("7.5 %")
    await _clean(page)

    await page.goto(url + "/admin/settings/shipping", wait_until="networkidle")
    await page.get_by_role("link", name=re.compile("^Edit the zone and its methods")).click()
    # The zone's form and the new method's form each have a "Name": each label names its own field.
    zone = page.locator("form").filter(has=page.get_by_role("heading", name="The zone"))
    await expect(zone.get_by_label("Name")).to_have_value(re.compile("^Zone "))
    adding = page.locator("form").filter(has=page.get_by_role("heading", name="Add a method"))
    await expect(adding.get_by_label("Name")).to_have_value("")
    await adding.get_by_label("Name").fill("Express courier")
    await adding.get_by_label("Kind").select_option(label="Flat rate")
    await adding.get_by_label("Price (USD)").fill("15.00")
    await expect(adding.get_by_label("Offered at checkout")).to_be_checked()
    await page.get_by_role("button", name="Add the method").click()
    await expect(page.locator(".admin-flash")).to_contain_text("Method Express courier added.")
    express = page.locator("tbody tr").filter(has_text="Express courier")
    await expect(express).to_contain_text("$15.00")
    await expect(express).to_contain_text("offered")
    await _clean(page)

    await page.goto(url + "/admin/settings/payments", wait_until="networkidle")
    await page.get_by_label("Offer Cash on delivery").uncheck()
    await page.get_by_role("button", name="Save payment methods").click()
    await expect(page.locator(".admin-flash")).to_be_visible()
    await expect(page.get_by_label("Offer Cash on delivery")).not_to_be_checked()
    await expect(page.get_by_label("Offer Card (test mode)")).to_be_checked()
    await _clean(page)


async def test_tax_shipping_and_payment_settings_show_at_checkout(
    make_committed_context: MakeContext,
    live_catalog: Shop,
    live_shop: LiveShop,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    await _owner(make_committed_context)
    await live_catalog.product("Desk Lamp", "40.00", on_hand=20)
    seeding = make_committed_context()
    async with seeding.db.session() as session:
        await make_shipping(session, price="5.00", name="Standard")
        await make_tax(session, "US", "10")
        await session.commit()
    url = live_shop.url
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = await _new_page(browser, problems)
            await sign_in(page, url, OWNER)
            await _settings(page, url)

            shopper = await _new_page(browser, problems)
            await _to_review(shopper, url, "desk-lamp")
            shipping = shopper.locator("fieldset").filter(has_text="Shipping method")
            await expect(shipping.locator(".choice")).to_have_count(2)
            await expect(shipping.locator(".choice").filter(has_text="Standard")).to_contain_text("$5.00")
            await expect(shipping.locator(".choice").filter(has_text="Express courier")).to_contain_text(
                "$15.00"
            )
            payment = shopper.locator("fieldset").filter(has_text="Payment")
            await expect(payment.get_by_label("Card (test mode)")).to_be_visible()
            await expect(shopper.get_by_text("Cash on delivery")).to_have_count(0)
            # 7.5 % of 40.00, the new rate; shipping is not taxed.
            tax = shopper.locator(".totals__row").filter(has_text="Tax")
            await expect(tax.locator("dd")).to_have_text("$3.00")
            await expect(shopper.locator(".totals__row--grand")).to_contain_text("$48.00")
            await shopper.get_by_label("Express courier").check()
            await expect(shopper.locator(".totals__row--grand")).to_contain_text("$58.00")
            await expect(tax.locator("dd")).to_have_text("$3.00")
            await shopper.screenshot(path=str(artifacts / "catalog-day-checkout.png"), full_page=True)
            await _clean(shopper)
        finally:
            await browser.close()
    assert problems == [], problems
