"""A review's life in chromium, in a shop where only buyers may review: a customer whose order was delivered
signs in from the product page, writes a review and is told it awaits moderation; a moderator approves it
in the back office's review queue; then the product page shows the stars, the review with its "Verified
purchase" badge and the sort switched by htmx, and the category's "4 stars and up" filter finds the
product. Every page is watched: no console error and no CSP violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from emporium.accounts.service import auth
from emporium.settings import AppSettings
from tests.catalog.conftest import Shop
from tests.conftest import MakeContext, make_settings, sign_up
from tests.orders.factory import ADDRESS, make_shipping
from tests.support import STRONG_PASSWORD, data
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, _serve, violations_script, watch_page

BUYER = "grace@example.com"
MODERATOR = "moderator@shop.test"


@pytest.fixture
def buyers_only_shop(settings: AppSettings, live_catalog: Shop) -> Iterator[LiveShop]:
    served = make_settings(
        settings.database_url, None, public_url="http://127.0.0.1", reviews_buyers_only=True
    )
    for url in _serve(served):
        yield LiveShop(url, served)


async def _delivered_order(shop: Shop, make_committed_context: MakeContext, product_id: int) -> None:
    """The buyer's order of the product, placed through the API and moved by staff to delivered."""
    seeding = make_committed_context()
    async with seeding.db.session() as session:
        method = await make_shipping(session, price="5.00", name="Standard")
        await auth.create_user(session, seeding, email=MODERATOR, password=STRONG_PASSWORD, role="moderator")
    buyer = await sign_up(shop.client, BUYER, first_name="Grace", last_name="Hopper")
    data(
        await shop.client.post(
            "/api/v1/cart/items", json={"product_id": product_id, "quantity": 1}, headers=buyer.headers
        ),
        201,
    )
    body = {
        "shipping_address": ADDRESS,
        "shipping_method_id": method.id,
        "payment_method": "cash_on_delivery",
    }
    order = data(await shop.client.post("/api/v1/orders", json=body, headers=buyer.headers), 201)
    for status in ("confirmed", "processing", "shipped", "delivered"):
        data(
            await shop.client.put(
                f"/api/v1/admin/orders/{order['id']}", json={"status": status}, headers=shop.headers
            )
        )


async def _new_page(browser: Browser, problems: list[str]) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.add_init_script(violations_script())
    watch_page(page, problems)
    return page


async def _clean(page: Page) -> None:
    assert await page.evaluate("window.__cspViolations") == [], page.url


async def _write(page: Page, url: str, problems: list[str]) -> None:
    """From the product page: sign in through its link, come back to the form, write five stars."""
    await page.goto(url + "/p/harbour-fudge", wait_until="networkidle")
    await expect(page.locator("#reviews")).to_contain_text("No reviews yet")
    await page.get_by_role("link", name="Sign in to write a review").click()
    await page.get_by_label("E-mail address").fill(BUYER)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(url + "/p/harbour-fudge#write-review")
    form = page.locator("#write-review")
    await expect(form).to_be_visible()
    await _clean(page)
    # Sent without stars: the form comes back with the reason and what was typed.
    await form.get_by_label("Title").fill("Best fudge in town")
    await form.get_by_label("Your review").fill("Crumbly, buttery <b>and</b> not too sweet.")
    await form.get_by_role("button", name="Post your review").click()
    await expect(page.locator("#write-review-rating-error")).to_have_text(
        "Choose how many stars you give, from 1 to 5."
    )
    await expect(page.locator("#write-review-body")).to_have_value(
        "Crumbly, buttery <b>and</b> not too sweet."
    )
    await _clean(page)
    # The refusal is a 422, which chromium reports on the console: expected here, and only here.
    refused = [p for p in problems if "status of 422" in p]
    assert len(refused) == 1, problems
    problems.remove(refused[0])
    await page.locator("#write-review").get_by_text("5 stars", exact=True).click()
    await page.locator("#write-review").get_by_role("button", name="Post your review").click()
    await expect(page.locator(".notice--success")).to_have_text(
        "Thank you! Your review will appear once a moderator has approved it."
    )
    await expect(page.locator("#your-review")).to_contain_text("Awaiting moderation")
    await _clean(page)


async def _approve(page: Page, url: str) -> None:
    """The moderator signs in to the back office and approves the review from the queue."""
    await page.goto(url + "/admin/reviews", wait_until="networkidle")
    await page.get_by_label("E-mail").fill(MODERATOR)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(url + "/admin/reviews*")
    row = page.locator("tr", has_text="Best fudge in town")
    await expect(row).to_have_count(1)
    await row.get_by_role("button", name="Approve").click()
    await expect(page.locator(".admin-flash--success")).to_be_visible()
    await _clean(page)


async def test_a_buyer_reviews_a_moderator_approves_and_the_stars_show(
    live_catalog: Shop,
    buyers_only_shop: LiveShop,
    make_committed_context: MakeContext,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    sweets = await live_catalog.category("Sweets")
    fudge = await live_catalog.product("Harbour Fudge", price="6.00", on_hand=20, category_id=sweets["id"])
    await live_catalog.product("Plain Toffee", price="3.00", category_id=sweets["id"])
    await _delivered_order(live_catalog, make_committed_context, fudge["id"])
    url = buyers_only_shop.url
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            buyer = await _new_page(browser, problems)
            await _write(buyer, url, problems)
            await _approve(await _new_page(browser, problems), url)

            guest = await _new_page(browser, problems)
            await guest.goto(url + "/p/harbour-fudge", wait_until="networkidle")
            rating = guest.locator(".product__rating")
            await expect(rating.locator(".stars")).to_have_attribute("aria-label", "Rated 5.0 out of 5")
            await expect(rating).to_contain_text("1 review")
            review = guest.locator("article.review")
            await expect(review).to_have_count(1)
            await expect(review).to_contain_text("Best fudge in town")
            await expect(review).to_contain_text("Crumbly, buttery <b>and</b> not too sweet.")
            await expect(review).to_contain_text("Grace H.")
            await expect(review.locator(".badge--verified")).to_have_text("Verified purchase")
            # The filled part of the stars is drawn by the style sheet: all five for 5.0.
            fill = await rating.locator(".stars").evaluate("s => getComputedStyle(s, '::after').width")
            whole = await rating.locator(".stars").evaluate("s => s.getBoundingClientRect().width")
            assert abs(float(fill.removesuffix("px")) - whole) < 1, (fill, whole)
            # Another sort through htmx: the list is swapped in place, the address stays.
            await guest.locator("#reviews-sort").select_option("lowest")
            await expect(guest.locator("#reviews-sort")).to_have_value("lowest")
            await expect(guest.locator("#reviews-list article.review")).to_have_count(1)
            assert guest.url == url + "/p/harbour-fudge"
            await guest.screenshot(path=str(artifacts / "reviews-product-page.png"), full_page=True)
            await _clean(guest)

            await guest.goto(url + "/c/sweets", wait_until="networkidle")
            four = guest.get_by_label("4 stars and up")
            if not await four.is_visible():
                await guest.locator(".filters-panel__toggle").click()
            await four.check()
            await guest.get_by_role("button", name="Show products").click()
            await guest.wait_for_url(url + "/c/sweets?rating=4")
            cards = guest.locator(".product-card")
            await expect(cards).to_have_count(1)
            await expect(cards).to_contain_text("Harbour Fudge")
            await expect(cards.locator(".stars")).to_have_attribute("aria-label", "Rated 5.0 out of 5")
            await guest.screenshot(path=str(artifacts / "reviews-category-four-stars.png"))
            await _clean(guest)

            # The buyer sees their review published, with no buttons to vote on it.
            await buyer.goto(url + "/p/harbour-fudge", wait_until="networkidle")
            await expect(buyer.locator("#your-review")).to_contain_text("Published")
            await expect(buyer.locator(".review__vote-form")).to_have_count(0)
            await _clean(buyer)
        finally:
            await browser.close()
    assert problems == [], problems
