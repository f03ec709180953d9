"""A push service on loopback (RFC 8030) that checks what a real one checks and reads what it was sent.

For each message it verifies the VAPID token (RFC 8292): an ES256 JWT signed by the key in the
``Authorization: vapid t=..., k=...`` header, ``aud`` the endpoint's origin, ``exp`` in the future and at
most 24 hours away, ``sub`` present; then it decrypts the aes128gcm body (RFC 8291) with the private key
and auth secret of the subscription it made for the test, and records the plaintext with the ``TTL``,
``Topic`` and ``Urgency`` headers. A message that fails a check is answered 401/400 and recorded in
``refused``. ``answer_with`` makes an endpoint answer 404, 410, 429, ... instead of 201.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class VapidRefused(Exception):
    pass


def verify_vapid(header: str, audience: str, now: float) -> tuple[dict[str, Any], str]:
    """The token's claims and the signer's public key (base64url), or VapidRefused saying why."""
    scheme, _, params = header.partition(" ")
    if scheme.lower() != "vapid":
        raise VapidRefused(f"scheme {scheme!r} is not vapid")
    parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
    if "t" not in parts or "k" not in parts:
        raise VapidRefused("t= or k= is missing")
    try:
        head_b64, claims_b64, signature_b64 = parts["t"].split(".")
        head = json.loads(b64d(head_b64))
        claims = json.loads(b64d(claims_b64))
        signature = b64d(signature_b64)
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(parts["k"]))
    except ValueError as exc:
        raise VapidRefused(f"malformed token: {exc}") from exc
    if head.get("alg") != "ES256" or len(signature) != 64:
        raise VapidRefused(f"not an ES256 token: {head}")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise VapidRefused("the signature does not verify with k") from exc
    if claims.get("aud") != audience:
        raise VapidRefused(f"aud {claims.get('aud')!r} is not {audience!r}")
    if not isinstance(claims.get("exp"), int) or not now < claims["exp"] <= now + 24 * 3600:
        raise VapidRefused(f"exp {claims.get('exp')!r} is not within 24 hours")
    if not claims.get("sub"):
        raise VapidRefused("sub is missing")
    return claims, parts["k"]


@dataclass
class Subscriber:
    """A browser's side of a subscription: the keys only it holds."""

    path: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        return b64e(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )


@dataclass
class ReceivedPush:
    path: str
    plaintext: bytes
    ttl: str | None
    topic: str | None
    urgency: str | None
    content_encoding: str | None
    claims: dict[str, Any]
    vapid_key: str

    @property
    def json(self) -> Any:
        return json.loads(self.plaintext)


@dataclass
class FakePushService:
    received: list[ReceivedPush] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/push/{token}", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def subscribe(self) -> dict[str, Any]:
        """A new subscription as ``PushSubscription.toJSON()`` gives it."""
        subscriber = Subscriber(
            path=f"/push/{secrets.token_urlsafe(16)}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=os.urandom(16),
        )
        self.subscribers[subscriber.path] = subscriber
        return {
            "endpoint": self.origin + subscriber.path,
            "expirationTime": None,
            "keys": {"p256dh": subscriber.p256dh, "auth": b64e(subscriber.auth)},
        }

    def answer_with(self, endpoint: str, status: int) -> None:
        self.answers[endpoint.removeprefix(self.origin)] = status

    async def _receive(self, request: web.Request) -> web.Response:
        subscriber = self.subscribers.get(request.path)
        if subscriber is None:
            return web.Response(status=404)
        status = self.answers.get(request.path, 201)
        if status != 201:
            return web.Response(status=status)
        try:
            claims, key = verify_vapid(request.headers.get("Authorization", ""), self.origin, time.time())
        except VapidRefused as exc:
            self.refused.append(str(exc))
            return web.Response(status=401, text=str(exc))
        if not request.headers.get("TTL", "").isdigit():
            self.refused.append("TTL is missing")  # RFC 8030 §5.2: a push service requires it
            return web.Response(status=400)
        body = await request.read()
        try:
            plaintext = http_ece.decrypt(
                body, private_key=subscriber.private_key, auth_secret=subscriber.auth, version="aes128gcm"
            )
        except Exception as exc:  # any failure to decrypt is the sender's fault: a 400 as a real service
            self.refused.append(f"cannot decrypt: {exc!r}")
            return web.Response(status=400)
        message_id = secrets.token_urlsafe(8)
        self.received.append(
            ReceivedPush(
                path=request.path,
                plaintext=plaintext,
                ttl=request.headers.get("TTL"),
                topic=request.headers.get("Topic"),
                urgency=request.headers.get("Urgency"),
                content_encoding=request.headers.get("Content-Encoding"),
                claims=claims,
                vapid_key=key,
            )
        )
        return web.Response(status=201, headers={"Location": f"{self.origin}/message/{message_id}"})
