"""What a browser sends when it subscribes to web push (``PushSubscription.toJSON()``) or turns push off,
checked at the boundary: the endpoint is an https URL (plain http only on loopback, where the tests' push
service listens) and the keys are what RFC 8291 needs (a P-256 point and a 16-byte secret)."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from emporium.notifications.vapid import from_b64url, is_public_point

AUTH_SECRET_BYTES = 16
MAX_ENDPOINT = 1000


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _endpoint(value: str) -> str:
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        _ = parts.port  # a port that is not a number raises here
    except ValueError as exc:
        raise ValueError("Enter the push service's URL.") from exc
    if parts.username or parts.password or parts.fragment or not host:
        raise ValueError("Enter the push service's URL.")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host)):
        return value
    raise ValueError("A push endpoint must be an https:// URL.")


class PushKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    p256dh: str = Field(min_length=86, max_length=88, description="The browser's P-256 key, base64url.")
    auth: str = Field(min_length=22, max_length=24, description="The 16-byte auth secret, base64url.")

    @field_validator("p256dh")
    @classmethod
    def _point(cls, value: str) -> str:
        try:
            raw = from_b64url(value)
        except ValueError as exc:
            raise ValueError("The key is not base64url text.") from exc
        if not is_public_point(raw):
            raise ValueError("The key is not a P-256 public key.")
        return value.rstrip("=")

    @field_validator("auth")
    @classmethod
    def _secret(cls, value: str) -> str:
        try:
            raw = from_b64url(value)
        except ValueError as exc:
            raise ValueError("The secret is not base64url text.") from exc
        if len(raw) != AUTH_SECRET_BYTES:
            raise ValueError("The secret must be 16 bytes.")
        return value.rstrip("=")


class PushSubscriptionIn(BaseModel):
    """``PushSubscription.toJSON()`` as the browser gives it (``expirationTime`` is ignored)."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(max_length=MAX_ENDPOINT)
    keys: PushKeys

    @field_validator("endpoint")
    @classmethod
    def _valid_endpoint(cls, value: str) -> str:
        return _endpoint(value)


class PushEndpointIn(BaseModel):
    endpoint: str = Field(min_length=1, max_length=MAX_ENDPOINT)


class PushSubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    endpoint: str
    created_at: datetime


class VapidPublicKeyRead(BaseModel):
    public_key: str = Field(description="The applicationServerKey to subscribe with (base64url).")


class PushRemoved(BaseModel):
    removed: bool


class PushSubscribed(BaseModel):
    id: int
