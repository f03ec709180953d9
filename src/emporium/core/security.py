"""Password hashing (argon2id), signed tokens (JWT HS256, algorithm pinned) and opaque token hashing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from emporium.core.config import Settings
from emporium.core.params import MAX_ID

TokenType = Literal["access", "refresh"]
ALGORITHM = "HS256"
ISSUER = "emporium"


class Passwords:
    """argon2id with the configured cost; knows when a stored hash was made with older parameters."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Verifying against a dummy hash when the account does not exist costs the same time as a
        # real check, so response time does not reveal which e-mails are registered.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    # Hashing takes tens of milliseconds of CPU by design; argon2 releases the GIL, so a worker thread
    # keeps the event loop serving other requests meanwhile.
    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy_hash, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


@dataclass(frozen=True)
class TokenClaims:
    subject: int
    session_id: int
    token_type: TokenType
    jti: str
    issued_at: datetime
    expires_at: datetime


class InvalidToken(Exception):
    """The token is forged, tampered with, expired or of the wrong type."""


class Tokens:
    def __init__(self, settings: Settings) -> None:
        self._key = settings.secret_key.get_secret_value()
        self._ttl: dict[TokenType, int] = {
            "access": settings.access_token_ttl_seconds,
            "refresh": settings.refresh_token_ttl_seconds,
        }

    def issue(self, subject: int, session_id: int, token_type: TokenType) -> tuple[str, TokenClaims]:
        now = datetime.now(UTC).replace(microsecond=0)
        claims = TokenClaims(
            subject=subject,
            session_id=session_id,
            token_type=token_type,
            jti=uuid.uuid4().hex,
            issued_at=now,
            expires_at=now + timedelta(seconds=self._ttl[token_type]),
        )
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "sub": str(subject),
            "sid": session_id,
            "typ": token_type,
            "jti": claims.jti,
            "iat": claims.issued_at,
            "exp": claims.expires_at,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM), claims

    def decode(self, token: str, expected: TokenType) -> TokenClaims:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "jti", "sub", "iss"]},
            )
            if payload.get("typ") != expected:
                raise InvalidToken("wrong token type")
            subject, session_id = _id(payload["sub"]), _id(payload["sid"])
            return TokenClaims(
                subject=subject,
                session_id=session_id,
                token_type=expected,
                jti=str(payload["jti"]),
                issued_at=datetime.fromtimestamp(payload["iat"], UTC),
                expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            )
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise InvalidToken(str(exc)) from exc


def _id(value: object) -> int:
    """A row id from a claim: a validly signed token naming an id no row can have (past BIGINT) is as
    invalid as a forged one, not a database error."""
    number = int(str(value))
    if not 1 <= number <= MAX_ID:
        raise ValueError("id out of range")
    return number


def new_opaque_token() -> str:
    """A random single-use token (e-mail verification, password reset): 256 bits, URL safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256 digests: a leaked table does not let anyone use them."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
