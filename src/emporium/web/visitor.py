"""The visitor fragment (/visitor): what a shared page leaves out because it is the same for everybody.

A shared page (home, category, product, search: web/page.py ``shared=True``) draws the header's account
links for nobody in particular and asks this fragment for the visitor's own: the signed-in name or
"Sign in", the cart count, and the browser's CSRF token (``data-csrf-token``, which shop.js puts into the
page's forms and htmx requests). The answer is private and never stored; it is where a first-time visitor
gets the CSRF cookie (docs/decisions.md, "Shared pages and CSRF").
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse

from emporium.web.page import ShopPage
from emporium.web.routing import page_router
from emporium.web.security import safe_next

router = page_router()


def _page_path(request: Request) -> str:
    """The path of the page that asked (htmx sends its address), for the "Sign in" link's return."""
    current = request.headers.get("HX-Current-URL", "")
    parts = urlsplit(current)
    if not current or parts.netloc != request.url.netloc:
        return "/"
    return safe_next(parts.path or "/")


@router.get("/visitor", response_class=HTMLResponse)
async def visitor(page: ShopPage) -> HTMLResponse:
    """The header's account links, cart count and CSRF token of this browser: one statement for the
    signed-in customer, one for the cart count (none for a visitor with neither)."""
    return await page.fragment(
        "web/fragments/visitor.html.j2",
        issues_token=True,
        cart_count=await page.cart_count(),
        visitor_token=page.browser.csrf_token,
        visitor_path=_page_path(page.request),
    )
