"""The CSRF check every state-changing storefront request passes before its route runs.

Two locks, both required (docs/decisions.md, "Shared pages and CSRF"):
- where the request comes from: a browser names the site that sent it (``Sec-Fetch-Site``) and its
  origin (``Origin``); a request another site made is refused whatever it carries;
- the token: the HMAC of the browser's CSRF seed cookie (web/browser.py), which only a page or fragment
  of this shop gives out. A first-time visitor gets it from the visitor fragment (web/visitor.py), so a
  shared page that carries no token still posts with one. A browser without script never loads that
  fragment: while it holds nothing of the shop, its own word that the shop's page sent the form is enough
  (``first_post_of_a_stranger``); the answer gives it a seed, and every later form needs the token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from emporium.cart.service import CART_TOKEN_COOKIE
from emporium.core.config import Settings
from emporium.core.errors import Forbidden
from emporium.web.browser import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, Browser
from emporium.web.errors import PageError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Fields a form may carry: the back office's variant grid sends about ten per variant (the body size
# limit still bounds every request).
MAX_FORM_FIELDS = 4000
# ``same-origin``: a page of this shop; ``none``: the visitor typed or bookmarked it (no page sent it).
OWN_SITE = frozenset({"same-origin", "none"})


class CsrfRefused(Forbidden):
    code = PageError.CSRF_FAILED
    message = "This form has expired or did not come from this shop. Go back, reload the page and try again."


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def from_elsewhere(request: Request, settings: Settings) -> bool:
    """Whether the browser says another site sent this request. A browser too old to send either header
    is judged by the token alone."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site.lower() not in OWN_SITE:
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    # The shop's public address, or the address this request reached (a development server's port).
    own = {_origin(settings.public_url), _origin(str(request.base_url))}
    return origin.lower() not in own


def first_post_of_a_stranger(request: Request, browser: Browser) -> bool:
    """A browser that holds nothing of this shop (no CSRF seed, no session, no cart) and says its own page
    sent the request: a shared page posted without script (it carries no token, and only the visitor
    fragment, loaded by script, hands one out). A forged request could only act for a stranger, with
    nothing of theirs to reach; the browser's own word on where the form came from is required (a request
    without ``Sec-Fetch-Site`` or ``Origin`` still needs the token)."""
    if not browser.seed_is_new or SESSION_COOKIE in request.cookies or CART_TOKEN_COOKIE in request.cookies:
        return False
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site.lower() == "same-origin"
    return request.headers.get("Origin") is not None  # from_elsewhere has checked it is this shop


async def require_csrf(request: Request) -> None:
    """A POST (PUT, PATCH, DELETE) must come from this shop's own pages and carry the browser's token in
    the ``csrf_token`` form field or the ``X-CSRF-Token`` header (htmx requests, see shop.js). Refused
    with 403 before anything runs."""
    if request.method in SAFE_METHODS:
        return
    browser = Browser.of(request)
    if from_elsewhere(request, browser.settings):
        raise CsrfRefused()
    if first_post_of_a_stranger(request, browser):
        return
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        try:
            value = (await request.form(max_fields=MAX_FORM_FIELDS)).get(CSRF_FIELD)
        except Exception as exc:  # an unreadable body carries no token
            raise CsrfRefused() from exc
        presented = value if isinstance(value, str) else None
    if not browser.csrf_accepts(presented):
        raise CsrfRefused()
