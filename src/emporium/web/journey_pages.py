"""The journeys' storefront pages: "Notify me" on a sold-out option, a guest's confirmation link, and the
link in an abandoned-cart reminder that brings the cart back."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Form, Path
from fastapi.responses import HTMLResponse, RedirectResponse

from emporium.cart.auth import set_token_cookie
from emporium.core.db import utcnow
from emporium.core.errors import ValidationFailed
from emporium.core.params import MAX_ID
from emporium.journeys.abandoned import abandoned_carts
from emporium.journeys.alerts import stock_alerts
from emporium.journeys.errors import SignInToRestore
from emporium.web.account_pages import sign_in_first
from emporium.web.page import ShopPage
from emporium.web.routing import page_router

router = page_router()

TokenPath = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")]
FormField = Annotated[str, Form(max_length=320)]
_ID = re.compile(r"^[1-9][0-9]{0,18}$")
# What a browser's type="email" field accepts, roughly: enough to refuse what can never be delivered.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,253}\.[^@\s\x00-\x1f\x7f]{2,63}$")


def _variant_id(text: str) -> int:
    value = text.strip()
    if not _ID.fullmatch(value) or int(value) > MAX_ID:
        raise ValidationFailed(
            "Choose an option.", details=[{"field": "variant_id", "message": "a product option's id"}]
        )
    return int(value)


def _email(text: str) -> str:
    value = text.strip()
    if not _EMAIL.fullmatch(value):
        raise ValidationFailed(
            "Enter the e-mail address to tell.", details=[{"field": "email", "message": "an e-mail address"}]
        )
    return value


@router.post("/stock-alerts", response_class=HTMLResponse)
async def notify_me(page: ShopPage, variant_id: FormField = "", email: FormField = "") -> HTMLResponse:
    """ "Notify me" on a sold-out option: one click when signed in; a guest's e-mail is confirmed first."""
    chosen = _variant_id(variant_id)
    customer = page.customer
    subscribed = await stock_alerts.subscribe(
        page.session,
        page.settings,
        chosen,
        user_id=customer.id if customer else None,
        email=None if customer else _email(email),
        now=utcnow(),
    )
    return await page.render(
        "web/journeys/alert_saved.html.j2",
        title="We will let you know",
        confirmation_sent=subscribed.confirmation_sent,
        confirmed=False,
    )


@router.get("/stock-alerts/confirm/{token}", response_class=HTMLResponse)
async def confirm_alert(token: TokenPath, page: ShopPage) -> HTMLResponse:
    await stock_alerts.confirm(page.session, page.settings, token, utcnow())
    return await page.render(
        "web/journeys/alert_saved.html.j2", title="Alert confirmed", confirmation_sent=False, confirmed=True
    )


@router.get("/r/{token}", response_class=HTMLResponse, response_model=None)
async def restore_cart(token: TokenPath, page: ShopPage) -> RedirectResponse:
    """The link in an abandoned-cart reminder: the cart it names becomes this visitor's (docs/decisions.md,
    "Abandoned-cart links"), then the cart page."""
    customer_id = page.customer.id if page.customer else None
    try:
        restored = await abandoned_carts.restore(
            page.session, page.settings, token, utcnow(), customer_id=customer_id
        )
    except SignInToRestore:
        return sign_in_first(page)
    response = page.redirect("/cart")
    if restored.guest_token is not None:
        set_token_cookie(response, page.settings, restored.guest_token)
    return response
