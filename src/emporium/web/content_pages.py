"""The shop's content pages at stable addresses: ``/pages/privacy``, ``/pages/terms``,
``/pages/shipping-returns``, ``/pages/about`` (store/content.py); any other name is a 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from emporium.store.content import content_pages
from emporium.store.profile import StoreProfile
from emporium.web.page import ShopPage
from emporium.web.routing import page_router

router = page_router()

Slug = Annotated[str, Path(max_length=40)]


@router.get("/pages/{slug}", response_class=HTMLResponse)
async def content_page(page: ShopPage, slug: Slug) -> HTMLResponse:
    """The merchant's text, or the page's default text until they save one; sanitised when saved."""
    text = await content_pages.page(page.session, StoreProfile.of(page.settings, None), slug)
    return await page.render(
        "web/content_page.html.j2",
        title=text.title,
        meta_description=f"{text.title} of {page.settings.shop_name}.",
        page_title=text.title,
        body=Markup(text.html),  # noqa: S704 - sanitised by core/sanitize.py
        updated_at=text.updated_at,
    )
