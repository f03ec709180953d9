"""Web push through ``pywebpush``: the message encrypted for the browser (aes128gcm, RFC 8291) and posted
to its push service with a VAPID token (RFC 8292) that says which shop sends it.

Headers (RFC 8030): ``TTL`` always, so a phone that is offline for a day still gets an order update but
not last week's; ``Topic`` derived from the message's topic (one per order), so a newer status replaces
an older one the push service still holds; ``Urgency`` from the category (account security is high,
marketing low). The push service's answer decides what the delivery job does: 404/410 mean the browser
dropped the subscription (forget it), 429 and 5xx are worth a retry, any other refusal is final.

pywebpush's asynchronous path (``WebPusher.send_async``, aiohttp) is used, on one client session per
provider, so no thread is held while a slow push service answers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from py_vapid import Vapid
from pywebpush import WebPusher, WebPushException

from emporium.notifications.config import PushSettings
from emporium.notifications.providers.base import DeliveryFailed, OutboundMessage, Provider, SendResult
from emporium.notifications.vapid import InvalidVapidKey, public_key_for

# RFC 8030 §5.4: a topic is at most 32 characters of the URL-safe base64 alphabet.
TOPIC_LENGTH = 32
# A push message carries at most 4096 bytes after encryption (RFC 8291 §4): the JSON is kept well below.
MAX_PAYLOAD_BYTES = 3000
# The VAPID token's lifetime: RFC 8292 allows at most 24 hours; a fresh token is signed for every send.
TOKEN_SECONDS = 12 * 3600
URGENCY = {"account": "high", "orders": "normal", "staff": "normal"}
RETRYABLE = frozenset({408, 425, 429})
GONE = frozenset({404, 410})


def topic_header(topic: str) -> str:
    """A stable 32-character URL-safe name for ``topic`` (RFC 8030 limits the length and the alphabet)."""
    digest = hashlib.sha256(topic.encode()).digest()[:24]
    return base64.urlsafe_b64encode(digest).decode()


def urgency(category: str) -> str:
    return URGENCY.get(category, "low")


def payload(message: OutboundMessage) -> bytes:
    """``{"title", "body", "url"}`` as JSON, the body shortened until the whole fits one push message."""
    body = message.text
    while True:
        data = json.dumps(
            {"title": message.subject[:200], "body": body, "url": message.link}, ensure_ascii=False
        ).encode()
        if len(data) <= MAX_PAYLOAD_BYTES:
            return data
        body = body[: max(0, len(body) - (len(data) - MAX_PAYLOAD_BYTES) - 1)].rstrip() + "…"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class WebPushProvider:
    name = "webpush"
    channel = "push"

    def __init__(self, private_key: str, subject: str, timeout_seconds: float) -> None:
        public_key_for(private_key)  # refuses a malformed key now rather than at the first send
        self._vapid = Vapid.from_string(private_key=private_key)
        self._subject = subject
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    def vapid_headers(self, endpoint: str) -> dict[str, str]:
        claims = {"sub": self._subject, "aud": origin(endpoint), "exp": int(time.time()) + TOKEN_SECONDS}
        headers: dict[str, str] = self._vapid.sign(claims)
        return headers

    def headers(self, message: OutboundMessage) -> dict[str, str]:
        headers = self.vapid_headers(message.to)
        headers["Urgency"] = urgency(message.category)
        if message.topic:
            headers["Topic"] = topic_header(message.topic)
        return headers

    async def send(self, message: OutboundMessage) -> SendResult:
        keys = {"p256dh": message.keys.get("p256dh", ""), "auth": message.keys.get("auth", "")}
        if not (keys["p256dh"] and keys["auth"]) or urlsplit(message.to).scheme not in ("https", "http"):
            raise DeliveryFailed("the subscription has no endpoint or keys", permanent=True, gone=True)
        try:
            pusher = WebPusher({"endpoint": message.to, "keys": keys}, aiohttp_session=self._client())
            response: Any = await pusher.send_async(
                payload(message),
                self.headers(message),
                ttl=message.ttl_seconds,
                content_encoding="aes128gcm",
                timeout=self._timeout,
            )
        except (WebPushException, ValueError, binascii.Error) as exc:
            # Keys that do not decode or are no P-256 point: this subscription can never be sent to.
            raise DeliveryFailed(f"the subscription's keys are not valid: {exc}", permanent=True) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryFailed(f"the push service could not be reached: {exc!r}", permanent=False) from exc
        return _outcome(response.status, response.headers.get("Location"), response.reason)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _outcome(status: int, location: str | None, reason: str | None) -> SendResult:
    if 200 <= status < 300:
        # RFC 8030 §5: 201 Created with the message's resource in Location.
        return SendResult(
            provider=WebPushProvider.name, provider_message_id=(location or None) and location[:200]
        )
    text = f"the push service answered {status} {reason or ''}".strip()
    if status in GONE:
        raise DeliveryFailed(text, permanent=True, gone=True)
    if status in RETRYABLE or status >= 500:
        raise DeliveryFailed(text, permanent=False)
    # 400 (bad request), 401/403 (VAPID refused), 413 (payload too large) and the rest: no retry helps.
    raise DeliveryFailed(text, permanent=True)


def webpush_provider(settings: PushSettings) -> Provider | None:
    """The web push sender, or None while the shop has no VAPID key pair (then push is not offered)."""
    if not settings.push_configured or settings.vapid_private_key is None:
        return None
    try:
        return WebPushProvider(
            settings.vapid_private_key.get_secret_value(),
            settings.vapid_claim_subject,
            settings.push_timeout_seconds,
        )
    except InvalidVapidKey:
        return None
