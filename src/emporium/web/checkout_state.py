"""What a checkout carries between its pages: the details typed on the first step and the choices of the
review, kept in a signed cookie so that every step is a GET the browser can come back to.

Each form post of the checkout stores what it was given here and redirects (post/redirect/get): Back and
Reload never land on a "confirm form resubmission" page, and a refused "Place order" shows the review page
again, with its notices, at the same address. The cookie is HttpOnly, lives for the checkout only, is signed
(a changed byte voids it) and holds nothing the shopper did not type; it is dropped when the order is placed.

The review's quote travels in its form instead, sealed the same way (``seal_quote``): what the page showed
comes back with "Place order", and cannot be made up by the browser.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

from fastapi import Request, Response

from emporium.core.config import Settings
from emporium.core.security import constant_time_equals
from emporium.orders.seen_quote import SeenQuote
from emporium.web.security import derived_key, secure_cookies, sign

STATE_COOKIE = "shop_checkout"
STATE_PATH = "/checkout"
STATE_MAX_AGE = 3 * 3600
# Browsers keep cookies up to 4096 bytes, name and attributes included.
MAX_COOKIE_VALUE = 3800
# A sealed quote travels in the review's form, not in a cookie: about 30 characters a cart line, so this
# holds thousands of lines while staying far inside the request body limit.
MAX_SEALED_QUOTE = 200_000


class StateTooLarge(ValueError):
    """The typed details do not fit in a cookie (only absurdly long fields get here)."""


@dataclass
class CheckoutState:
    contact: dict[str, str] = field(default_factory=dict)
    address: dict[str, str] = field(default_factory=dict)
    address_id: str = ""
    shipping_method_id: str = ""
    payment_method: str = ""
    # Shown once on the next review page, then forgotten.
    notices: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Any) -> CheckoutState | None:
        if not isinstance(raw, dict):
            return None

        def strings(value: Any) -> dict[str, str]:
            if not isinstance(value, dict):
                return {}
            return {str(k): str(v) for k, v in value.items() if isinstance(v, str)}

        notices = raw.get("notices")
        return cls(
            contact=strings(raw.get("contact")),
            address=strings(raw.get("address")),
            address_id=str(raw.get("address_id") or ""),
            shipping_method_id=str(raw.get("shipping_method_id") or ""),
            payment_method=str(raw.get("payment_method") or ""),
            notices=[str(n) for n in notices] if isinstance(notices, list) else [],
            errors=strings(raw.get("errors")),
        )


def _pack(settings: Settings, purpose: str, payload: bytes) -> str:
    body = base64.urlsafe_b64encode(zlib.compress(payload, 9)).decode().rstrip("=")
    return f"{body}.{sign(derived_key(settings, purpose), body)}"


def _unpack(settings: Settings, purpose: str, value: str | None, limit: int) -> bytes | None:
    """The payload ``_pack`` sealed for ``purpose``; None for a longer value than ``limit`` or a bad one."""
    if not value or value.count(".") != 1 or len(value) > limit:
        return None
    body, signature = value.split(".")
    if not constant_time_equals(signature, sign(derived_key(settings, purpose), body)):
        return None
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        # Bounded: a signed value was written by ``_pack``, but never inflate more than it could hold.
        inflater = zlib.decompressobj()
        payload = inflater.decompress(packed, 32 * limit)
    except (binascii.Error, ValueError, zlib.error):
        return None
    return payload if not inflater.unconsumed_tail else None


def read_state(settings: Settings, request: Request) -> CheckoutState | None:
    payload = _unpack(settings, "checkout-state", request.cookies.get(STATE_COOKIE), 2 * MAX_COOKIE_VALUE)
    if payload is None:
        return None
    try:
        return CheckoutState.from_dict(json.loads(payload))
    except ValueError:
        return None


def keep_state(settings: Settings, response: Response, state: CheckoutState) -> None:
    """Raises ``StateTooLarge`` when the details cannot be kept (the page asks for shorter ones)."""
    value = _pack(settings, "checkout-state", json.dumps(asdict(state), separators=(",", ":")).encode())
    if len(value) > MAX_COOKIE_VALUE:
        raise StateTooLarge()
    response.set_cookie(
        STATE_COOKIE,
        value,
        max_age=STATE_MAX_AGE,
        path=STATE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
    )


def drop_state(settings: Settings, response: Response) -> None:
    response.delete_cookie(
        STATE_COOKIE, path=STATE_PATH, httponly=True, samesite="lax", secure=secure_cookies(settings)
    )


def seal_quote(settings: Settings, quote: SeenQuote) -> str:
    return _pack(settings, "checkout-quote", quote.to_json().encode())


def open_quote(settings: Settings, sealed: str) -> SeenQuote | None:
    """The quote a review page showed; None when the field is missing, changed or not one of ours."""
    payload = _unpack(settings, "checkout-quote", sealed, MAX_SEALED_QUOTE)
    if payload is None:
        return None
    try:
        return SeenQuote.from_json(payload.decode())
    except UnicodeDecodeError:
        return None
