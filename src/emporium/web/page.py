"""Rendering a page in the shop's layout: ``page: ShopPage`` in a route, then ``await page.render(...)``.

The layout needs the customer (or None), the mini-cart count, the category navigation and the browser's
CSRF token; ``render`` gathers them, sets the security and caching headers and writes the cookies the
request changed. The category tree comes from the catalog cache (under the catalog stamp) through
``page.categories()``, read at most once per request.

A page rendered with ``shared=True`` (home, category, product, search) is, for a visitor without a
session, the same for everybody: it carries no customer, cart count or CSRF token, sets no cookie and is
``public`` for a short while, so that the shop's page cache (web/page_cache.py) and any proxy may keep it.
Its header asks the visitor fragment (web/visitor.py) for the per-visitor parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.cart.service import CART_TOKEN_COOKIE, carts
from emporium.catalog.cache import DISABLED_PAGES, CatalogPages, catalog_pages
from emporium.catalog.schemas import CategoryRead
from emporium.catalog.taxonomy import taxonomy
from emporium.core.card_numbers import blank_card_numbers
from emporium.core.config import Settings
from emporium.core.context import AppContext, Ctx
from emporium.core.session import DbSession
from emporium.store.content import content_pages
from emporium.web.browser import Browser
from emporium.web.security import page_headers
from emporium.web.templating import environment

if TYPE_CHECKING:
    from emporium.accounts.models import User

SAFE_METHODS = frozenset({"GET", "HEAD"})
# The content pages linked from every page's footer (store/content.py serves them).
FOOTER_PAGES = tuple((f"/pages/{slug}", title) for slug, title in content_pages.titles().items())
# A page shown to a guest still carries that browser's CSRF token and cart count: never a shared cache.
GUEST_PAGE_CACHE = "private, max-age=0, must-revalidate"
NO_STORE = "private, no-store"
# A shared page (the same for every visitor without a session): kept briefly by browsers and proxies,
# served stale while a proxy fetches it again; a catalog change gives it a new ETag (web/page_cache.py).
SHARED_PAGE_CACHE = "public, max-age=10, s-maxage=10, stale-while-revalidate=30"


def cache_control(method: str, signed_in: bool) -> str:
    """Only GET pages may be kept by the browser; a page showing a signed-in customer never is."""
    return GUEST_PAGE_CACHE if method in SAFE_METHODS and not signed_in else NO_STORE


def layout_defaults(settings: Settings, request: Request) -> dict[str, Any]:
    """What the layout needs that does not come from the database."""
    locale = settings.locale
    return {
        "shop_name": settings.shop_name,
        "shop_currency": settings.currency,
        "shop_locale": locale,
        "lang": locale.replace("_", "-"),
        "canonical_url": settings.public_url.rstrip("/") + request.url.path,
        "meta_description": f"Shop online at {settings.shop_name}.",
        "current_path": request.url.path,
        "customer": None,
        "cart_count": 0,
        "csrf_token": None,
        "nav_categories": [],
        "contact_email": settings.contact_email,
        "footer_pages": FOOTER_PAGES,
    }


def _hide_card_numbers(context: dict[str, Any]) -> None:
    """A refused form comes back with what was typed: never with a card number typed into a text field
    (the field itself is refused, core/card_numbers.py). The typed values are a dict (``values``) or an
    object holding dicts (the checkout's form)."""
    for value in context.values():
        if isinstance(value, dict):
            blank_card_numbers(value)
        elif hasattr(value, "__dict__"):
            for part in vars(value).values():
                if isinstance(part, dict):
                    blank_card_numbers(part)


def html_response(
    settings: Settings, html: str, *, status_code: int = 200, cache: str = NO_STORE
) -> HTMLResponse:
    headers = {**page_headers(settings), "Cache-Control": cache}
    # A shared page is the same whatever cookies come with it (a session is answered elsewhere: the
    # page cache and the proxy pass those by); every other page depends on the browser's cookies.
    if cache != SHARED_PAGE_CACHE:
        headers["Vary"] = "Cookie"
    return HTMLResponse(html, status_code=status_code, headers=headers)


@dataclass
class PageContext:
    request: Request
    ctx: AppContext
    session: AsyncSession
    browser: Browser
    customer: User | None
    pages: CatalogPages = field(default=DISABLED_PAGES, repr=False)
    _categories: list[CategoryRead] | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    async def categories(self) -> list[CategoryRead]:
        """The visible category tree, from the catalog cache (one statement when it misses), at most once
        per request."""
        if self._categories is None:
            self._categories = await self.pages.value(
                "nav-tree", {}, list[CategoryRead], self._load_categories
            )
        return self._categories

    async def _load_categories(self) -> list[CategoryRead]:
        return await taxonomy.category_tree(self.session, include_inactive=False)

    def shared(self) -> bool:
        """Whether this request may get the page everybody gets: a GET from a browser with no session."""
        return (
            self.request.method in SAFE_METHODS
            and self.customer is None
            and not self.browser.drop_session_cookie
        )

    async def cart_count(self) -> int:
        token = None if self.customer else self.request.cookies.get(CART_TOKEN_COOKIE)
        user_id = self.customer.id if self.customer else None
        return await carts.item_count(self.session, user_id=user_id, token=token)

    async def render(
        self, template: str, *, status_code: int = 200, shared: bool = False, **context: Any
    ) -> HTMLResponse:
        """``template`` (under templates/) in the layout. ``title``, ``meta_description`` and
        ``canonical_url`` may be given in ``context``. ``shared``: the page holds nothing of the visitor
        but what the layout adds, so a visitor without a session gets the shared version (see above)."""
        values = layout_defaults(self.settings, self.request)
        public = shared and status_code == 200 and self.shared()
        if public:
            # The per-visitor parts come from the visitor fragment; forms get the token from it too.
            values.update(csrf_token="", cart_count=None, visitor_fragment=True)
        else:
            values.update(
                customer=self.customer, cart_count=await self.cart_count(), csrf_token=self.browser.csrf_token
            )
        values["nav_categories"] = await self.categories()
        values.update(context)
        if status_code >= 400:
            _hide_card_numbers(context)
        html = environment().get_template(template).render(values)
        if public:
            return html_response(self.settings, html, cache=SHARED_PAGE_CACHE)
        cache = cache_control(self.request.method, self.customer is not None)
        response = html_response(self.settings, html, status_code=status_code, cache=cache)
        self.browser.apply(response)
        return response

    async def fragment(
        self, template: str, *, status_code: int = 200, issues_token: bool = False, **context: Any
    ) -> HTMLResponse:
        """A piece of a page for htmx to swap in: no layout, so no statements for it.

        A browser without a CSRF cookie gets its first one from the visitor fragment only
        (``issues_token``): fragments loaded beside it (the product page's heart) would each make a seed
        of their own, and the last cookie to arrive would not match the token the page holds. Without a
        cookie they carry no token; their forms take the page's (shop.js)."""
        first_visit = self.browser.seed_is_new and not issues_token
        values = layout_defaults(self.settings, self.request)
        values.update(customer=self.customer, csrf_token="" if first_visit else self.browser.csrf_token)
        values.update(context)
        html = environment().get_template(template).render(values)
        cache = cache_control(self.request.method, self.customer is not None)
        response = html_response(self.settings, html, status_code=status_code, cache=cache)
        self.browser.apply(response, give_seed=not first_visit)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        """303 See Other: after a form post the browser follows with a GET."""
        response = RedirectResponse(url, status_code=303, headers={"Cache-Control": NO_STORE})
        self.browser.apply(response)
        return response


async def shop_page(request: Request, ctx: Ctx, session: DbSession) -> PageContext:
    # The catalog stamp is read before the request's first statement (see catalog/cache.py).
    pages = await catalog_pages(request)
    browser = Browser.of(request)
    customer = await browser.customer(session)
    return PageContext(
        request=request, ctx=ctx, session=session, browser=browser, customer=customer, pages=pages
    )


ShopPage = Annotated[PageContext, Depends(shop_page)]
