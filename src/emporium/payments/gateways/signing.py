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


def _parts(header: str) -> tuple[int | None, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        # isascii: "²" is a digit to str.isdigit but no number to int().
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    return timestamp, candidates


def check_fresh(header: str | None, *, tolerance: int = TOLERANCE_SECONDS) -> None:
    """Refuse a header dated outside the tolerance in either direction: one dated in the future could be
    replayed for longer than the tolerance (Stripe's own library checks only the past)."""
    timestamp = _parts(header)[0] if header else None
    if timestamp is None:
        raise InvalidWebhook("malformed signature header")
    if abs(time.time() - timestamp) > tolerance:
        raise InvalidWebhook("timestamp outside the tolerance")


def verify(body: bytes, header: str | None, secret: str, *, tolerance: int = TOLERANCE_SECONDS) -> None:
    if not header:
        raise InvalidWebhook("missing signature header")
    timestamp, candidates = _parts(header)
    if timestamp is None or not candidates:
        raise InvalidWebhook("malformed signature header")
    check_fresh(header, tolerance=tolerance)
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise InvalidWebhook("signature does not match")
