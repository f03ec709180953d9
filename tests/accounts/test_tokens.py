"""Access and refresh tokens: rotation, reuse detection, sign-out and forged tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select

from emporium.accounts.models import AuthSession, RefreshToken
from emporium.core.context import AppContext
from emporium.core.security import hash_token
from tests.accounts.helpers import CustomApp, login, user_id_of
from tests.conftest import Shopper, sign_up
from tests.support import bearer, data, error

REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
PROFILE = "/api/v1/users/profile"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _sign(claims: dict[str, Any], key: str) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


def _hs512(claims: dict[str, Any], key: str) -> str:
    """Signed with the right key but another algorithm than the pinned one."""
    signing_input = (
        _b64(json.dumps({"alg": "HS512", "typ": "JWT"}).encode()) + "." + _b64(json.dumps(claims).encode())
    )
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{_b64(signature)}"


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


async def test_refresh_rotates_and_the_old_refresh_token_stops_working(
    client: httpx.AsyncClient, shopper: Shopper, ctx: AppContext
) -> None:
    first = str(shopper.tokens["refresh_token"])
    rotated = data(await _refresh(client, first))
    assert rotated["refresh_token"] != first
    assert rotated["access_token"] != shopper.tokens["access_token"]
    assert rotated["user"]["email"] == shopper.email
    assert data(await client.get(PROFILE, headers=bearer(rotated["access_token"])))["email"] == shopper.email

    async with ctx.db.session() as session:
        stored = (
            await session.execute(select(RefreshToken).where(RefreshToken.token_hash == hash_token(first)))
        ).scalar_one()
        assert stored.used_at is not None
        # Only digests are stored.
        assert (
            await session.execute(select(RefreshToken).where(RefreshToken.token_hash == first))
        ).first() is None

    # The new one rotates again.
    newer = data(await _refresh(client, rotated["refresh_token"]))
    assert newer["refresh_token"] not in {first, rotated["refresh_token"]}


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    client: httpx.AsyncClient, shopper: Shopper, ctx: AppContext
) -> None:
    stolen = str(shopper.tokens["refresh_token"])
    rotated = data(await _refresh(client, stolen))
    other_device = await login(client, shopper.email, shopper.password)

    reused = await _refresh(client, stolen)
    assert error(reused, 401)["code"] == "TOKEN_REUSED"

    # Every token of that session is dead: the newest refresh token and the access tokens.
    assert error(await _refresh(client, rotated["refresh_token"]), 401)["code"] == "SESSION_ENDED"
    assert error(await client.get(PROFILE, headers=bearer(rotated["access_token"])), 401)["code"] == (
        "SESSION_ENDED"
    )
    assert error(await client.get(PROFILE, headers=shopper.headers), 401)["code"] == "SESSION_ENDED"

    async with ctx.db.session() as session:
        claims = _claims(rotated["access_token"])
        auth_session = await session.get(AuthSession, claims["sid"])
        assert auth_session is not None
        assert auth_session.revoked_at is not None
        assert auth_session.revoked_reason == "refresh_token_reuse"

    # Another session of the same user is not touched.
    data(await client.get(PROFILE, headers=bearer(other_device["access_token"])))
    data(await _refresh(client, other_device["refresh_token"]))


async def test_reuse_revocation_survives_the_refusal_with_real_commits(committed_app: CustomApp) -> None:
    """Outside the rolled-back test transaction: each request commits on its own connection."""
    async with committed_app() as (_, http):
        shopper = await sign_up(http, "ada@example.com")
        stolen = str(shopper.tokens["refresh_token"])
        rotated = data(await _refresh(http, stolen))
        assert error(await _refresh(http, stolen), 401)["code"] == "TOKEN_REUSED"
        assert error(await _refresh(http, rotated["refresh_token"]), 401)["code"] == "SESSION_ENDED"
        denied = await http.get(PROFILE, headers=bearer(rotated["access_token"]))
        assert error(denied, 401)["code"] == "SESSION_ENDED"


async def test_unknown_or_malformed_refresh_tokens_are_refused(
    client: httpx.AsyncClient, shopper: Shopper, ctx: AppContext
) -> None:
    access = str(shopper.tokens["access_token"])
    assert error(await _refresh(client, access), 401)["code"] == "INVALID_TOKEN"  # wrong type
    assert error(await _refresh(client, "x" * 40), 401)["code"] == "INVALID_TOKEN"
    # Well signed but never issued (not in the table).
    claims = _claims(str(shopper.tokens["refresh_token"]))
    claims["jti"] = "f" * 32
    forged = _sign(claims, ctx.settings.secret_key.get_secret_value())
    assert error(await _refresh(client, forged), 401)["code"] == "INVALID_TOKEN"


async def test_logout_revokes_the_refresh_token_and_the_access_token(
    client: httpx.AsyncClient, shopper: Shopper
) -> None:
    other_device = await login(client, shopper.email, shopper.password)
    response = await client.post(
        LOGOUT, json={"refresh_token": shopper.tokens["refresh_token"]}, headers=shopper.headers
    )
    assert data(response) is None

    assert error(await client.get(PROFILE, headers=shopper.headers), 401)["code"] == "SESSION_ENDED"
    assert error(await _refresh(client, str(shopper.tokens["refresh_token"])), 401)["code"] == (
        "SESSION_ENDED"
    )
    # Signing out one device leaves the others signed in.
    data(await client.get(PROFILE, headers=bearer(other_device["access_token"])))


async def test_logout_with_only_the_access_token_ends_the_session(
    client: httpx.AsyncClient, shopper: Shopper
) -> None:
    data(await client.post(LOGOUT, headers=shopper.headers))
    error(await client.get(PROFILE, headers=shopper.headers), 401)
    error(await _refresh(client, str(shopper.tokens["refresh_token"])), 401)


async def test_logout_with_only_the_refresh_token_ends_the_session(
    client: httpx.AsyncClient, shopper: Shopper
) -> None:
    data(await client.post(LOGOUT, json={"refresh_token": shopper.tokens["refresh_token"]}))
    error(await client.get(PROFILE, headers=shopper.headers), 401)
    error(await _refresh(client, str(shopper.tokens["refresh_token"])), 401)


async def test_logout_with_an_expired_access_token_still_ends_the_refresh_tokens_session(
    client: httpx.AsyncClient, shopper: Shopper, ctx: AppContext
) -> None:
    claims = _claims(str(shopper.tokens["access_token"]))
    past = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
    expired = _sign({**claims, "iat": past - 900, "exp": past}, ctx.settings.secret_key.get_secret_value())
    response = await client.post(
        LOGOUT, json={"refresh_token": shopper.tokens["refresh_token"]}, headers=bearer(expired)
    )
    assert data(response) is None
    error(await _refresh(client, str(shopper.tokens["refresh_token"])), 401)
    error(await client.get(PROFILE, headers=shopper.headers), 401)


async def test_logout_with_only_a_bad_access_token_is_refused(
    client: httpx.AsyncClient, shopper: Shopper
) -> None:
    error(await client.post(LOGOUT, headers=bearer("not-a-jwt")), 401)
    data(await client.get(PROFILE, headers=shopper.headers))


async def test_logout_cannot_end_another_users_session(client: httpx.AsyncClient, shopper: Shopper) -> None:
    other = await sign_up(client, "bob@example.com")
    data(
        await client.post(
            LOGOUT, json={"refresh_token": other.tokens["refresh_token"]}, headers=shopper.headers
        )
    )
    data(await client.get(PROFILE, headers=other.headers))
    data(await _refresh(client, str(other.tokens["refresh_token"])))


async def test_logout_without_any_token_is_refused(client: httpx.AsyncClient) -> None:
    assert error(await client.post(LOGOUT), 401)["code"] == "UNAUTHORIZED"


async def test_profile_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get(PROFILE)
    assert error(response, 401)["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def _forgeries(token: str, secret: str, other_user_id: int) -> dict[str, str]:
    header, payload, signature = token.split(".")
    claims = _claims(token)
    now = int(datetime.now(UTC).timestamp())
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    tampered = dict(json.loads(_unb64(payload)), sub=str(other_user_id))
    return {
        "alg none": f"{none_header}.{payload}.",
        "alg none with the signature kept": f"{none_header}.{payload}.{signature}",
        "wrong key": _sign(claims, "another-secret-key-that-is-long-enough-987654"),
        "HS512 with the right key": _hs512(claims, secret),
        "tampered payload": f"{header}.{_b64(json.dumps(tampered).encode())}.{signature}",
        "expired": _sign(
            {**claims, "iat": now - 3600, "exp": int((datetime.now(UTC) - timedelta(minutes=5)).timestamp())},
            secret,
        ),
        "wrong issuer": _sign({**claims, "iss": "someone-else"}, secret),
        "no expiry": _sign({k: v for k, v in claims.items() if k != "exp"}, secret),
        "no session id": _sign({k: v for k, v in claims.items() if k != "sid"}, secret),
        "subject not a number": _sign({**claims, "sub": "admin"}, secret),
        # Validly signed (a leaked key, a bug elsewhere), naming ids no row can have.
        "subject past BIGINT": _sign({**claims, "sub": str(2**63)}, secret),
        "subject far past BIGINT": _sign({**claims, "sub": "9" * 400}, secret),
        "subject zero": _sign({**claims, "sub": "0"}, secret),
        "subject negative": _sign({**claims, "sub": str(-(2**63) - 1)}, secret),
        "session past BIGINT": _sign({**claims, "sid": 2**63}, secret),
        "garbage": "not-a-jwt",
        "three garbage parts": "abc.def.ghi",
        "empty parts": "..",
        "huge": "a" * 5000,
    }


@pytest.mark.parametrize(
    "kind",
    [
        "alg none",
        "alg none with the signature kept",
        "wrong key",
        "HS512 with the right key",
        "tampered payload",
        "expired",
        "wrong issuer",
        "no expiry",
        "no session id",
        "subject not a number",
        "subject past BIGINT",
        "subject far past BIGINT",
        "subject zero",
        "subject negative",
        "session past BIGINT",
        "garbage",
        "three garbage parts",
        "empty parts",
        "huge",
    ],
)
async def test_forged_access_tokens_are_refused(
    kind: str, client: httpx.AsyncClient, shopper: Shopper, ctx: AppContext
) -> None:
    victim = await sign_up(client, "victim@example.com")
    secret = ctx.settings.secret_key.get_secret_value()
    forged = _forgeries(str(shopper.tokens["access_token"]), secret, user_id_of(victim))[kind]

    response = await client.get(PROFILE, headers=bearer(forged))

    assert error(response, 401)["code"] == "INVALID_TOKEN"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("claim", ["sub", "sid"])
async def test_a_refresh_token_naming_an_id_past_bigint_is_refused(
    claim: str, client: httpx.AsyncClient, shopper: Shopper, ctx: AppContext
) -> None:
    claims = _claims(str(shopper.tokens["refresh_token"]))
    forged = _sign({**claims, claim: str(2**63)}, ctx.settings.secret_key.get_secret_value())
    assert error(await _refresh(client, forged), 401)["code"] in {"INVALID_TOKEN", "INVALID_REFRESH_TOKEN"}


async def test_a_refresh_token_is_not_an_access_token(client: httpx.AsyncClient, shopper: Shopper) -> None:
    response = await client.get(PROFILE, headers=bearer(str(shopper.tokens["refresh_token"])))
    assert error(response, 401)["code"] == "INVALID_TOKEN"


async def test_a_well_signed_token_of_an_unknown_session_is_refused(
    client: httpx.AsyncClient, shopper: Shopper, ctx: AppContext
) -> None:
    claims = _claims(str(shopper.tokens["access_token"]))
    forged = _sign({**claims, "sid": claims["sid"] + 1000}, ctx.settings.secret_key.get_secret_value())
    assert error(await client.get(PROFILE, headers=bearer(forged)), 401)["code"] == "SESSION_ENDED"


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "bearer", "Bearer a b c"]
)
async def test_odd_authorization_headers_are_refused(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get(PROFILE, headers={"Authorization": header})
    assert error(response, 401)["code"] in {"UNAUTHORIZED", "INVALID_TOKEN"}
