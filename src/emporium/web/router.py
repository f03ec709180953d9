"""Every storefront route, in one router tried early in the app (see ``DOMAIN_ROUTERS`` in app.py): no page
path may match a path of a router tried after it, which tests/core/test_route_order.py checks.

Page authors add their module's router to ``PAGE_ROUTERS``; it inherits the CSRF check below, which
refuses any POST, PUT, PATCH or DELETE without the browser's token before the route runs.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from emporium.core.errors import NotFound
from emporium.web import (
    account,
    account_book,
    account_pages,
    cart_pages,
    catalog_pages,
    checkout_pages,
    checkout_review,
    content_pages,
    home,
    inbox_pages,
    journey_pages,
    review_pages,
    seo,
    visitor,
    wishlist_lists,
    wishlist_pages,
)
from emporium.web.assets import IMMUTABLE, shop_assets
from emporium.web.csrf import require_csrf
from emporium.web.errors import PageError
from emporium.web.routing import page_router

PAGE_ROUTERS: tuple[APIRouter, ...] = (
    home.router,
    account.router,
    seo.router,
    catalog_pages.router,
    review_pages.router,
    account_pages.router,
    account_book.router,
    inbox_pages.router,
    cart_pages.router,
    checkout_pages.router,
    checkout_review.router,
    content_pages.router,
    wishlist_pages.router,
    wishlist_lists.router,
    visitor.router,
    journey_pages.router,
)

router = page_router(dependencies=[Depends(require_csrf)])


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
async def static_file(name: str) -> Response:
    """A fingerprinted file; any other name (an old fingerprint included) is a 404."""
    asset = shop_assets().lookup(name)
    if asset is None:
        raise NotFound("No such file.", code=PageError.ASSET_NOT_FOUND)
    headers = {
        "Cache-Control": IMMUTABLE,
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{asset.digest[:32]}"',
    }
    return Response(asset.body, media_type=asset.media_type, headers=headers)


for _pages in PAGE_ROUTERS:
    router.include_router(_pages)
