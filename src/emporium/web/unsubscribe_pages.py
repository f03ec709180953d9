"""One-click unsubscribe (RFC 8058) from the journeys' e-mails: ``/u/{token}``.

A mail client posts ``List-Unsubscribe=One-Click`` to the URL without cookies or a CSRF token, so this
router stands outside the storefront's CSRF check (app.py): the signed token is the only authority, and it
can do one thing only, turn one category off for one recipient. A GET (a person clicking the link, or a
mail scanner fetching it) changes nothing: it shows a page with the button that posts.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from fastapi.responses import HTMLResponse

from emporium.core.db import utcnow
from emporium.journeys.unsubscribe import CATEGORY_NAMES, unsubscribes
from emporium.web.page import ShopPage
from emporium.web.routing import page_router

router = page_router()

TokenPath = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")]


@router.get("/u/{token}", response_class=HTMLResponse)
async def confirm_unsubscribe(token: TokenPath, page: ShopPage) -> HTMLResponse:
    category = await unsubscribes.check(page.session, page.settings, token, utcnow())
    return await page.render(
        "web/journeys/unsubscribe.html.j2",
        title="Unsubscribe",
        token=token,
        what=CATEGORY_NAMES[category],
        done=False,
    )


@router.post("/u/{token}", response_class=HTMLResponse)
async def unsubscribe(token: TokenPath, page: ShopPage) -> HTMLResponse:
    done = await unsubscribes.unsubscribe(page.session, page.settings, token, utcnow(), source="one_click")
    category = (
        done.category if done else await unsubscribes.check(page.session, page.settings, token, utcnow())
    )
    return await page.render(
        "web/journeys/unsubscribe.html.j2",
        title="Unsubscribed",
        token=token,
        what=CATEGORY_NAMES[category],
        done=True,
    )
