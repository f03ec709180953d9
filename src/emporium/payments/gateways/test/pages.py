"""The test gateway's payment page: the simulated provider's card form, served by Emporium.

Plain HTML forms, no script at all (the Content-Security-Policy allows none). The card number lives only
in this request: its outcome and last four digits are kept, nothing else, and it is never logged. Once the
outcome is known the form's answer is a 303 to the shop's return URL, as a hosted payment page sends the
shopper back by itself; the policy's form-action names that URL's origin, since browsers hold a form's
redirects to it too.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Path
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from emporium.core.context import Ctx
from emporium.core.errors import NotFound
from emporium.core.money import from_minor
from emporium.core.session import DbSession
from emporium.payments.errors import PaymentError
from emporium.payments.gateways.test.gateway import TestGateway
from emporium.payments.models import TestGatewaySession
from emporium.payments.tasks import queue_test_webhook

router = APIRouter(prefix="/pay/test", include_in_schema=False)

Secret = Annotated[str, Path(min_length=16, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
# No script at all; the page's one inline style block is the only style.
CSP = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
EXPIRY = re.compile(r"^(0[1-9]|1[0-2])/\d{2}$")


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=PackageLoader("emporium", "templates"), autoescape=select_autoescape(["j2"]))


def _page(row: TestGatewaySession, *, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    html = (
        _templates()
        .get_template("payments/test_gateway.html.j2")
        .render(
            order_number=row.order_number,
            amount=f"{from_minor(row.amount_minor, row.currency):f} {row.currency}",
            state=row.state,
            error=error or row.error,
            client_secret=row.client_secret,
            return_url=row.return_url,
        )
    )
    headers = {"Content-Security-Policy": _policy(row.return_url), **HEADERS}
    return HTMLResponse(html, status_code=status_code, headers=headers)


def _policy(return_url: str) -> str:
    """The page's policy, its forms also allowed to end at the shop's return URL."""
    parts = urlsplit(return_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return CSP
    return CSP.replace("form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}")


def _back_to_the_shop(row: TestGatewaySession) -> RedirectResponse:
    """The outcome is known: the shopper goes back to the shop, which reads it from the ledger."""
    return RedirectResponse(row.return_url, status_code=303, headers=HEADERS)


async def _session(gateway: TestGateway, session: DbSession, secret: str) -> TestGatewaySession:
    row = await gateway.session_for(session, secret)
    if row is None:
        raise NotFound("No such payment.", code=PaymentError.PAYMENT_NOT_FOUND)
    return row


@router.get("/{client_secret}", response_class=HTMLResponse)
async def payment_page(client_secret: Secret, ctx: Ctx, session: DbSession) -> HTMLResponse:
    return _page(await _session(TestGateway(ctx.settings), session, client_secret))


@router.post("/{client_secret}", response_class=HTMLResponse, response_model=None)
async def pay(
    client_secret: Secret,
    ctx: Ctx,
    session: DbSession,
    number: Annotated[str, Form(max_length=23)],
    expiry: Annotated[str, Form(max_length=5)],
    cvc: Annotated[str, Form(max_length=4)],
) -> HTMLResponse | RedirectResponse:
    gateway = TestGateway(ctx.settings)
    row = await _session(gateway, session, client_secret)
    if row.state != "requires_action":
        return _page(row, error="This payment is already settled.", status_code=409)
    problem = gateway.card_problem(number)
    if problem is None and not EXPIRY.fullmatch(expiry.strip()):
        problem = "Give the expiry as MM/YY."
    if problem is None and not (cvc.isdigit() and len(cvc) in (3, 4)):
        problem = "The CVC is the 3 or 4 digits on the back of the card."
    if problem is not None:
        return _page(row, error=problem, status_code=422)
    event = gateway.pay(row, number)
    if event is not None:
        queue_test_webhook(session, event)
    await session.flush()
    # Without an event the 3-D Secure step comes first, on this page.
    return _page(row) if event is None else _back_to_the_shop(row)


@router.post("/{client_secret}/3ds", response_class=HTMLResponse, response_model=None)
async def three_d_secure(
    client_secret: Secret,
    ctx: Ctx,
    session: DbSession,
    outcome: Annotated[str, Form(pattern="^(approve|fail)$")],
) -> HTMLResponse | RedirectResponse:
    gateway = TestGateway(ctx.settings)
    row = await _session(gateway, session, client_secret)
    if row.state != "awaiting_3ds":
        return _page(row, error="There is no 3-D Secure step waiting.", status_code=409)
    queue_test_webhook(session, gateway.finish_3ds(row, outcome == "approve"))
    await session.flush()
    return _back_to_the_shop(row)
