"""Malformed and hostile bodies on the accounts endpoints: always a 4xx with the error body, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Shopper
from tests.support import STRONG_PASSWORD, data, error

BIG = "a" * 10_240
NUL = "ada\x00@example.com"

# (method, path, a valid body) of every accounts endpoint that takes a body.
ENDPOINTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/auth/register", {"email": "new@example.com", "password": STRONG_PASSWORD}),
    ("POST", "/api/v1/auth/login", {"email": "ada@example.com", "password": STRONG_PASSWORD}),
    ("POST", "/api/v1/auth/refresh", {"refresh_token": "r" * 40}),
    ("POST", "/api/v1/auth/forgot-password", {"email": "ada@example.com"}),
    ("POST", "/api/v1/auth/reset-password", {"token": "t" * 43, "password": STRONG_PASSWORD}),
    ("POST", "/api/v1/auth/verify-email", {"token": "t" * 43}),
    ("POST", "/api/v1/auth/resend-verification", {"email": "ada@example.com"}),
    ("PUT", "/api/v1/users/profile", {"first_name": "Ada"}),
    (
        "PUT",
        "/api/v1/users/password",
        {"current_password": STRONG_PASSWORD, "new_password": "another passphrase"},
    ),
    ("DELETE", "/api/v1/users/account", {"password": "not the password"}),
    (
        "POST",
        "/api/v1/users/addresses",
        {"full_name": "Ada", "line1": "1 Road", "city": "London", "postal_code": "N1", "country": "GB"},
    ),
    ("PUT", "/api/v1/users/preferences/notifications", {"quiet_hours": "22:00-07:00"}),
]
IDS = [f"{method} {path.removeprefix('/api/v1')}" for method, path, _ in ENDPOINTS]
OPTIONAL_FIELDS_ONLY = {"/api/v1/users/profile", "/api/v1/users/preferences/notifications"}


def _hostile_bodies(valid: dict[str, Any]) -> dict[str, Any]:
    """Named bad variants of a valid body. Each is sent as JSON."""
    fields = list(valid)
    return {
        "array": [valid],
        "string": "hello",
        "number": 42,
        **{f"{f} missing": {k: v for k, v in valid.items() if k != f} for f in fields[:1]},
        **{f"{f} as number": {**valid, f: 12345} for f in fields},
        **{f"{f} as object": {**valid, f: {"$ne": None}} for f in fields},
        **{f"{f} as list": {**valid, f: ["a", "b"]} for f in fields},
        **{f"{f} 10 kB": {**valid, f: BIG} for f in fields},
        **{
            f"{f} with NUL": {**valid, f: f"{v}\x00" if isinstance(v, str) else "\x00"}
            for f, v in valid.items()
        },
    }


def _assert_refused(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    body = response.json()
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message", "details"}
    assert "Traceback" not in response.text


@pytest.mark.parametrize(("method", "path", "valid"), ENDPOINTS, ids=IDS)
async def test_hostile_json_bodies_are_refused(
    client: httpx.AsyncClient, shopper: Shopper, method: str, path: str, valid: dict[str, Any]
) -> None:
    for name, body in _hostile_bodies(valid).items():
        if name.endswith(" missing") and path in OPTIONAL_FIELDS_ONLY:
            continue  # an empty update is a valid update
        response = await client.request(method, path, json=body, headers=shopper.headers)
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
        _assert_refused(response)
    # The shopper's session and data survived all of it.
    profile = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    assert (profile["first_name"], profile["email"]) == ("Ada", "ada@example.com")


@pytest.mark.parametrize(("method", "path", "valid"), ENDPOINTS, ids=IDS)
async def test_nul_bytes_and_oversized_strings_are_refused(
    client: httpx.AsyncClient, shopper: Shopper, method: str, path: str, valid: dict[str, Any]
) -> None:
    for field, value in valid.items():
        if not isinstance(value, str):
            continue
        for bad in (f"{value}\x00", f"\x00{value}", BIG):
            response = await client.request(method, path, json={**valid, field: bad}, headers=shopper.headers)
            err = error(response, 422)
            assert field in [d["field"] for d in err["details"]], (bad[:20], err)


@pytest.mark.parametrize(("method", "path", "valid"), ENDPOINTS, ids=IDS)
async def test_broken_payloads_are_refused(
    client: httpx.AsyncClient, shopper: Shopper, method: str, path: str, valid: dict[str, Any]
) -> None:
    headers = {**shopper.headers, "Content-Type": "application/json"}
    payloads = [
        b"{",
        b'{"email": }',
        b"\xff\xfe\x00garbage",
        b"[" * 50_000 + b"]" * 50_000,
        b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    ]
    for payload in payloads:
        response = await client.request(method, path, content=payload, headers=headers)
        _assert_refused(response)


async def test_lone_surrogates_are_refused(client: httpx.AsyncClient, shopper: Shopper) -> None:
    headers = {**shopper.headers, "Content-Type": "application/json"}
    for path, payload in [
        ("/api/v1/auth/login", b'{"email": "\\ud800ada@example.com", "password": "whatever it is"}'),
        (
            "/api/v1/auth/register",
            b'{"email": "x@example.com", "password": "\\ud800\\ud800\\ud800\\ud800xxxx"}',
        ),
    ]:
        _assert_refused(await client.post(path, content=payload, headers=headers))
    response = await client.put(
        "/api/v1/users/profile", content=b'{"first_name": "A\\udc00da"}', headers=headers
    )
    _assert_refused(response)


async def test_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": "x@example.com", "password": "p" * (2 * 1024 * 1024)}
    )
    assert error(response, 413)["code"] == "PAYLOAD_TOO_LARGE"


async def test_form_encoded_body_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", data={"email": "ada@example.com", "password": STRONG_PASSWORD}
    )
    _assert_refused(response)
