"""Signed links of the journeys: a cart's recovery link, a guest's alert confirmation, one-click unsubscribe.

A token is ``<purpose-free payload>.<signature>``: the payload names a row by id and carries its expiry, never
an e-mail address or a name, and the signature is an HMAC-SHA256 under a key derived from the app secret for
that purpose alone, so a token made for one link is worthless for another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from emporium.core.config import Settings

_PAYLOAD = re.compile(r"^([a-z]{1,12}):(\d{1,19}):(\d{1,12})$")
MAX_TOKEN = 200


class BadLink(ValueError):
    """The token was changed, made for another purpose, or is not a token at all."""


class ExpiredLink(ValueError):
    """The token is genuine but its time is up."""


@dataclass(frozen=True)
class Link:
    kind: str  # what the id names: "cart", "alert", "user"
    id: int
    expires: int  # Unix seconds


def _key(settings: Settings, purpose: str) -> bytes:
    secret = settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, f"emporium-journeys:{purpose}".encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make(settings: Settings, purpose: str, kind: str, row_id: int, expires: datetime) -> str:
    payload = f"{kind}:{row_id}:{int(expires.timestamp())}".encode()
    mac = hmac.new(_key(settings, purpose), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def read(settings: Settings, purpose: str, token: str, now: datetime) -> Link:
    """The link a token names; BadLink unless it was signed for ``purpose``, ExpiredLink once out of time."""
    if len(token) > MAX_TOKEN or token.count(".") != 1:
        raise BadLink(token)
    encoded, signature = token.split(".")
    try:
        payload, mac = _unb64(encoded), _unb64(signature)
    except (binascii.Error, ValueError) as exc:
        raise BadLink(token) from exc
    expected = hmac.new(_key(settings, purpose), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, mac):
        raise BadLink(token)
    match = _PAYLOAD.fullmatch(payload.decode("ascii", "replace"))
    if match is None:
        raise BadLink(token)
    link = Link(match[1], int(match[2]), int(match[3]))
    if link.expires <= now.timestamp():
        raise ExpiredLink(token)
    return link
