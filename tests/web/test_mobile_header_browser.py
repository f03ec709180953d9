"""The header on a phone (375 px wide, in Debian's chromium): the logo, the account links and the cart stay
on one line each, the search box fits beside nothing else, and a category bar wider than the screen shows
that it scrolls (its far edge fades) and scrolls. Measured in the page; screenshots in test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright, expect

from tests.catalog.conftest import Shop
from tests.conftest import sign_up
from tests.support import STRONG_PASSWORD
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, violations_script

PHONE = {"width": 375, "height": 812}
CATEGORIES = ("Kitchen", "Garden", "Sweet Shop", "Apparel", "Electronics", "Books", "Toys and Games")

MEASURE = """() => {
  const box = (selector) => {
    const el = document.querySelector(selector);
    const r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height};
  };
  const lineHeight = (selector) => parseFloat(getComputedStyle(document.querySelector(selector)).lineHeight);
  const list = document.querySelector(".category-nav__list");
  const fading = getComputedStyle(list);
  return {
    viewport: document.documentElement.clientWidth,
    pageWidth: document.documentElement.scrollWidth,
    logo: box(".logo"),
    logoName: box(".logo__name"),
    account: box(".site-header__account"),
    logoNameCut: (({scrollWidth, clientWidth}) => scrollWidth > clientWidth)(
      document.querySelector(".logo__name")),
    links: [...document.querySelectorAll(".site-header__account .header-link")]
      .filter((a) => a.getClientRects().length > 0).map((a) => {
      const r = a.getBoundingClientRect();
      return {text: a.textContent.trim(), top: r.top, height: r.height, lines: a.getClientRects().length};
    }),
    linkLine: lineHeight(".header-link"),
    logoLine: lineHeight(".logo__name"),
    search: box(".search"),
    bar: box(".site-header__bar"),
    listScrolls: list.scrollWidth > list.clientWidth + 1,
    listOverflowX: getComputedStyle(list).overflowX,
    fade: fading.maskImage || fading.webkitMaskImage || "none",
  };
}"""


def _one_line(element: dict[str, Any], line_height: float) -> bool:
    return bool(element["height"] < line_height * 1.6)


async def test_the_header_fits_a_phone(
    live_catalog: Shop, live_shop: LiveShop, chromium_path: Path, artifacts: Path
) -> None:
    for name in CATEGORIES:
        await live_catalog.category(name)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            for signed_in in (False, True):
                context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
                page = await context.new_page()
                await page.add_init_script(violations_script())
                if signed_in:
                    # A long first name is the hardest case for the account links.
                    await _sign_in(page, live_shop, live_catalog)
                await page.goto(live_shop.url + "/", wait_until="networkidle")
                shown = await page.evaluate(MEASURE)
                name = "signed-in" if signed_in else "guest"
                await page.screenshot(path=str(artifacts / f"header-375-{name}.png"))

                assert shown["pageWidth"] <= shown["viewport"], shown  # nothing pushes the page sideways
                # Logo and account links share the first row, each on one line.
                assert _one_line(shown["logoName"], shown["logoLine"]), shown
                assert not shown["logoNameCut"], shown  # the shop's name is whole
                for link in shown["links"]:
                    assert link["lines"] == 1, shown
                    assert link["height"] < shown["linkLine"] * 1.6 + 16, shown
                    assert abs(link["top"] - shown["links"][0]["top"]) < 2, shown
                assert shown["account"]["top"] < shown["logo"]["bottom"], shown
                assert shown["account"]["right"] <= shown["viewport"], shown
                # The search box is the second row, whole.
                assert shown["search"]["top"] >= shown["logo"]["bottom"] - 1, shown
                assert shown["search"]["right"] <= shown["viewport"], shown
                assert shown["bar"]["height"] < 140, shown

                # The category bar scrolls sideways and shows it: its far edge fades out.
                assert shown["listScrolls"], shown
                assert shown["listOverflowX"] == "auto", shown
                assert "gradient" in shown["fade"], shown
                before = await page.locator(".category-nav__list").evaluate("el => el.scrollLeft")
                await page.locator(".category-nav__list").evaluate("el => el.scrollBy(200, 0)")
                after = await page.locator(".category-nav__list").evaluate("el => el.scrollLeft")
                assert after > before
                if signed_in:
                    # On a phone, signing out is in the account's menu.
                    assert [link["text"] for link in shown["links"]][-1].startswith("Cart")
                    await page.goto(live_shop.url + "/account")
                    await expect(
                        page.locator(".account__menu").get_by_role("link", name="Sign out")
                    ).to_be_visible()
                assert await page.evaluate("window.__cspViolations") == []
                await context.close()
        finally:
            await browser.close()


async def _sign_in(page: Page, live_shop: LiveShop, live_catalog: Shop) -> None:
    email = "bartholomew.long@example.com"
    await sign_up(live_catalog.client, email=email, first_name="Bartholomew-Alexander")
    await page.goto(live_shop.url + "/account/sign-in?next=%2Faccount%2Forders")
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(live_shop.url + "/account/orders")
