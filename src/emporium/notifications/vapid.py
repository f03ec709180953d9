"""VAPID keys (RFC 8292): the shop's P-256 key pair that push services know it by.

Both halves travel as unpadded base64url text, the form browsers take (``applicationServerKey``) and the
``.env`` file can hold: the private key as its 32-byte scalar, the public key as the 65-byte uncompressed
point. Nothing here reads the database or the network.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

PRIVATE_KEY_BYTES = 32
PUBLIC_KEY_BYTES = 65


class InvalidVapidKey(ValueError):
    pass


@dataclass(frozen=True)
class VapidKeys:
    private_key: str
    public_key: str


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def from_b64url(text: str) -> bytes:
    """Unpadded (or padded) base64url to bytes; anything else is a ValueError."""
    if not text or any(ch not in _ALPHABET for ch in text.rstrip("=")):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _public_point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def generate_keys() -> VapidKeys:
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(PRIVATE_KEY_BYTES, "big")
    return VapidKeys(private_key=b64url(scalar), public_key=b64url(_public_point(key.public_key())))


def public_key_for(private_key: str) -> str:
    """The public half of a private key given as base64url text."""
    try:
        raw = from_b64url(private_key.strip())
    except ValueError as exc:
        raise InvalidVapidKey("the VAPID private key is not base64url text") from exc
    if len(raw) != PRIVATE_KEY_BYTES:
        raise InvalidVapidKey("the VAPID private key must be 32 bytes")
    try:
        key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError as exc:
        raise InvalidVapidKey("the VAPID private key is not a P-256 key") from exc
    return b64url(_public_point(key.public_key()))


def is_public_point(raw: bytes) -> bool:
    """True for a 65-byte uncompressed point on P-256 (a browser's ``p256dh`` or a VAPID public key)."""
    if len(raw) != PUBLIC_KEY_BYTES or raw[0] != 4:
        return False
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return False
    return True
