"""Headers every page carries, keys derived from the app secret, and the redirect target check."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit

from emporium.catalog.media.config import MediaSettings
from emporium.core.config import Settings

BASE_CSP = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
)


def content_security_policy(settings: Settings) -> str:
    """The strict policy; product images kept in S3-compatible storage are the one other origin."""
    directives = list(BASE_CSP)
    media = settings.part(MediaSettings)
    media_origin = _origin(media.s3_public_url) if media.media_storage == "s3" else None
    if media_origin:
        directives[3] = f"img-src 'self' data: {media_origin}"
    return "; ".join(directives)


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def page_headers(settings: Settings) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
    }


def secure_cookies(settings: Settings) -> bool:
    """Cookies are Secure except where the shop runs on plain http://127.0.0.1 (development and tests)."""
    return settings.env not in ("development", "test")


def derived_key(settings: Settings, purpose: str) -> bytes:
    """A key per use of the app secret, so a value signed for one purpose is worthless for another."""
    secret = settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, f"emporium-web:{purpose}".encode(), hashlib.sha256).digest()


def sign(key: bytes, value: str) -> str:
    mac = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def safe_next(url: str | None) -> str:
    """``url`` if it is a path on this site, else ``/``: the target of a redirect after signing in must
    never take the shopper to another site (``//evil.example``, ``/\\evil.example``, ``https://...``)."""
    if not url or not url.startswith("/") or url.startswith("//"):
        return "/"
    # Browsers read a backslash as a slash, and drop tabs and newlines from URLs.
    if "\\" in url or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return "/"
    return url
