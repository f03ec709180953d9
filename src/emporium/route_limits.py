"""Which rate limit counts a request, and whose: the route classes of the whole shop in one table.

Classes (settings ``rate_limit_<class>``): ``reads`` (every GET), ``cart`` (cart changes), ``checkout``
(placing and paying orders), ``account`` (a customer's own writes, and any write no other class claims),
``staff`` (the back office and catalog changes). Not counted here: ``/auth`` and the sign-in, registration
and password pages (the auth limit on their routes), payment webhooks (providers retry; their bodies are
bounded instead), health probes, ``/metrics`` and static and media files.

A request is counted for the signed-in user of a valid bearer token, staff cookie or session cookie,
wherever they connect from; otherwise for its client address (so the staff of one office, behind one
address, do not share one allowance).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.types import Scope

from emporium.admin.session import cookie_name, parse_cookie
from emporium.catalog.media.config import MediaSettings
from emporium.core.config import Settings
from emporium.core.middleware import BodyLimit
from emporium.core.params import API_PREFIX
from emporium.core.security import InvalidToken, Tokens
from emporium.web.browser import SESSION_COOKIE, session_user_id

READS, CART, CHECKOUT, ACCOUNT, STAFF = "reads", "cart", "checkout", "account", "staff"
ROUTE_CLASSES = (READS, CART, CHECKOUT, ACCOUNT, STAFF)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_API = API_PREFIX + "/"
_STAFF_API_ROOTS = frozenset({"admin", "inventory"})
_CATALOG_API_ROOTS = frozenset({"products", "brands", "categories", "variants"})
_STAFF_PAYMENTS = frozenset({"payments/refund", "payments/crypto/refunds", "payments/bank-transfer/verify"})
_CHECKOUT_API = frozenset({"orders", "orders/verify-payment"})
# The storefront's pages that carry the auth limit (web/account.py, web/account_pages.py).
AUTH_PAGES = frozenset(
    {
        ("POST", "/account/sign-in"),
        ("POST", "/account/register"),
        ("GET", "/account/verify-email"),
        ("POST", "/account/verify-email/resend"),
        ("POST", "/account/forgot-password"),
        ("POST", "/account/reset-password"),
    }
)


def classifier(settings: Settings) -> Callable[[str, str], str | None]:
    media_root = settings.part(MediaSettings).media_url_prefix.strip("/")
    exempt_roots = frozenset({"health", "metrics", "static", media_root})

    def classify(method: str, path: str) -> str | None:
        if path.startswith(_API):
            return _api_class(method, path[len(_API) :])
        root = path[1:].split("/", 1)[0]
        if root in exempt_roots or (method, path) in AUTH_PAGES:
            return None
        if root == "admin":
            return STAFF
        if method in READ_METHODS:
            return READS
        if root == "cart":
            return CART
        if root in ("checkout", "pay") or (root == "orders" and path.endswith("/pay")):
            return CHECKOUT
        return ACCOUNT

    return classify


def _api_class(method: str, rest: str) -> str | None:
    root = rest.split("/", 1)[0]
    if root in ("auth", "webhooks") or rest.startswith("payments/webhook"):
        return None
    if root in _STAFF_API_ROOTS or rest in _STAFF_PAYMENTS:
        return STAFF
    if method in READ_METHODS:
        return READS
    if root in _CATALOG_API_ROOTS:
        # A customer's review of a product is the customer's write, not a catalog change.
        return ACCOUNT if rest.endswith("/reviews") else STAFF
    if root == "cart":
        return CART
    if rest in _CHECKOUT_API or root == "payments":
        return CHECKOUT
    return ACCOUNT


# The anonymous reads the replica may answer (core/read_routing.py): the catalog, search and the storefront's
# pages of them. Carts, checkout, orders, accounts, wishlists and the back office read from the primary.
_REPLICA_PAGE_ROOTS = frozenset({"c", "p", "search", "pages", "sitemap.xml", "sitemaps", "robots.txt"})


def replica_path(path: str) -> bool:
    """Whether an anonymous GET of ``path`` may read from the replica."""
    if path.startswith(_API):
        return path[len(_API) :].split("/", 1)[0] in _CATALOG_API_ROOTS
    return path == "/" or path[1:].split("/", 1)[0] in _REPLICA_PAGE_ROOTS


def signed_in_cookies(settings: Settings) -> frozenset[str]:
    """The cookies that make a request a signed-in customer's or staff member's."""
    return frozenset({SESSION_COOKIE, cookie_name(settings)})


def identifier(settings: Settings, tokens: Tokens) -> Callable[[Scope], str | None]:
    staff_cookie = cookie_name(settings)
    markers = (SESSION_COOKIE.encode() + b"=", staff_cookie.encode() + b"=")

    def from_cookies(cookie: bytes) -> int | None:
        for part in cookie.decode("latin-1").split(";"):
            name, _, value = part.strip().partition("=")
            if name == staff_cookie:
                staff = parse_cookie(settings, value)
                if staff is not None:
                    return staff.user_id
            elif name == SESSION_COOKIE:
                user_id = session_user_id(settings, value)
                if user_id is not None:
                    return user_id
        return None

    def identify(scope: Scope) -> str | None:
        authorization = cookie = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"cookie":
                cookie = value
        if authorization is not None and authorization[:7].lower() == b"bearer ":
            try:
                return f"user:{tokens.decode(authorization[7:].decode('latin-1').strip(), 'access').subject}"
            except InvalidToken:
                pass
        if cookie is not None and any(marker in cookie for marker in markers):
            user_id = from_cookies(cookie)
            return f"user:{user_id}" if user_id is not None else None
        return None

    return identify


_WEBHOOK_PATH = re.compile(
    re.escape(_API) + r"(?:payments/webhook(?:/[a-z0-9_-]{1,40})?|webhooks/[a-z0-9_-]{1,40})"
)


def webhook_body_limit(settings: Settings) -> BodyLimit:
    """Webhooks are not rate limited (a provider retries what is refused); their bodies are bounded."""
    return BodyLimit("POST", _WEBHOOK_PATH, settings.webhook_max_body_bytes)
