"""The CSRF check every state-changing storefront request passes before its route runs."""

from __future__ import annotations

from fastapi import Request

from emporium.core.errors import Forbidden
from emporium.web.browser import CSRF_FIELD, CSRF_HEADER, Browser
from emporium.web.errors import PageError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Fields a form may carry: the back office's variant grid sends about ten per variant (the body size
# limit still bounds every request).
MAX_FORM_FIELDS = 4000


class CsrfRefused(Forbidden):
    code = PageError.CSRF_FAILED
    message = "This form has expired or did not come from this shop. Go back, reload the page and try again."


async def require_csrf(request: Request) -> None:
    """A POST (PUT, PATCH, DELETE) must carry the browser's token in the ``csrf_token`` form field or the
    ``X-CSRF-Token`` header (htmx requests, see shop.js). Refused with 403 before anything runs."""
    if request.method in SAFE_METHODS:
        return
    browser = Browser.of(request)
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        try:
            value = (await request.form(max_fields=MAX_FORM_FIELDS)).get(CSRF_FIELD)
        except Exception as exc:  # an unreadable body carries no token
            raise CsrfRefused() from exc
        presented = value if isinstance(value, str) else None
    if not browser.csrf_accepts(presented):
        raise CsrfRefused()
