"""Webhook signatures in Stripe's scheme: header ``t=<unix time>,v1=<hex>[,v1=<hex>...]`` where each v1 is
HMAC-SHA256 of ``"<t>.<raw body>"`` with the endpoint secret. Several v1 values are accepted (secret
rotation); a timestamp outside the tolerance is refused (replay)."""

from __future__ import annotations

import hashlib
import hmac
import time

from emporium.payments.gateways.base import InvalidWebhook

TOLERANCE_SECONDS = 300


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def verify(body: bytes, header: str | None, secret: str, *, tolerance: int = TOLERANCE_SECONDS) -> None:
    if not header:
        raise InvalidWebhook("missing signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidWebhook("malformed signature header")
    if abs(time.time() - timestamp) > tolerance:
        raise InvalidWebhook("timestamp outside the tolerance")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise InvalidWebhook("signature does not match")
