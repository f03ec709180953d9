"""Brute-force defences: the per-address sign-in lockout and the per-client limit on /auth/*."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from emporium.app import create_app
from emporium.core.context import AppContext
from tests.accounts.helpers import CustomApp, login, login_body
from tests.conftest import MakeContext, Shopper, sign_up
from tests.support import STRONG_PASSWORD, data, error

LOGIN = "/api/v1/auth/login"


async def _fail(client: httpx.AsyncClient, email: str, times: int) -> None:
    for _ in range(times):
        response = await client.post(LOGIN, json=login_body(email, "wrong password!"))
        assert error(response, 401)["code"] == "INVALID_CREDENTIALS"


def _assert_locked(response: httpx.Response, ctx: AppContext) -> None:
    err = error(response, 429)
    assert err["code"] == "TOO_MANY_ATTEMPTS"
    assert err["message"]
    assert err["details"] == []
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= ctx.settings.login_lockout_seconds


async def test_five_failures_lock_the_address_even_for_the_right_password(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    assert ctx.settings.login_max_failures == 5
    await _fail(client, shopper.email, 5)

    _assert_locked(await client.post(LOGIN, json=login_body(shopper.email, shopper.password)), ctx)
    _assert_locked(await client.post(LOGIN, json=login_body(shopper.email, "wrong password!")), ctx)
    # Case and spaces do not make another address.
    _assert_locked(await client.post(LOGIN, json=login_body(" ADA@Example.com ", shopper.password)), ctx)
    # The lock is per address: another customer signs in.
    other = await sign_up(client, "bob@example.com")
    await login(client, other.email, other.password)


async def test_four_failures_do_not_lock_and_a_success_resets_the_count(
    client: httpx.AsyncClient, shopper: Shopper
) -> None:
    await _fail(client, shopper.email, 4)
    await login(client, shopper.email, shopper.password)
    await _fail(client, shopper.email, 4)
    await login(client, shopper.email, shopper.password)


async def test_unknown_addresses_are_locked_the_same_way(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await _fail(client, "nobody@example.com", 5)
    _assert_locked(await client.post(LOGIN, json=login_body("nobody@example.com", STRONG_PASSWORD)), ctx)


async def test_the_lock_expires(custom_app: CustomApp) -> None:
    async with custom_app(login_lockout_seconds=1) as (ctx, client):
        shopper = await sign_up(client, "ada@example.com")
        await _fail(client, shopper.email, 5)
        _assert_locked(await client.post(LOGIN, json=login_body(shopper.email, shopper.password)), ctx)

        await asyncio.sleep(1.1)

        tokens = await login(client, shopper.email, shopper.password)
        assert tokens["user"]["email"] == shopper.email
        # The failures before the lock were forgotten: a new lock takes five new failures.
        await _fail(client, shopper.email, 4)
        await login(client, shopper.email, shopper.password)


async def test_failure_threshold_follows_the_setting(custom_app: CustomApp) -> None:
    async with custom_app(login_max_failures=2) as (ctx, client):
        shopper = await sign_up(client, "ada@example.com")
        await _fail(client, shopper.email, 2)
        _assert_locked(await client.post(LOGIN, json=login_body(shopper.email, shopper.password)), ctx)


async def test_auth_routes_are_limited_per_client_address(custom_app: CustomApp) -> None:
    async with custom_app(auth_rate_limit="3/minute") as (_, client):
        for _ in range(3):
            response = await client.post("/api/v1/auth/forgot-password", json={"email": "a@example.com"})
            assert response.status_code == 202
        # Every /auth route shares the budget, whatever the body.
        refused = await client.post(LOGIN, json=login_body("a@example.com", STRONG_PASSWORD))
        err = error(refused, 429)
        assert err["code"] == "RATE_LIMITED"
        # A sliding window: this minute's requests still weigh through part of the next one.
        assert 1 <= int(refused.headers["Retry-After"]) <= 121
        error(await client.post("/api/v1/auth/register", json={}), 429)


async def test_the_auth_limit_counts_each_client_address_apart(make_context: MakeContext) -> None:
    app = create_app(ctx=make_context(auth_rate_limit="2/minute"))

    def client_from(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 4000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    body = {"email": "a@example.com"}
    async with client_from("198.51.100.7") as first, client_from("203.0.113.9") as second:
        for _ in range(2):
            assert (await first.post("/api/v1/auth/forgot-password", json=body)).status_code == 202
        error(await first.post("/api/v1/auth/forgot-password", json=body), 429)
        assert (await second.post("/api/v1/auth/forgot-password", json=body)).status_code == 202


@pytest.mark.parametrize("path", ["/api/v1/users/profile", "/health"])
async def test_routes_outside_auth_are_not_counted(custom_app: CustomApp, path: str) -> None:
    async with custom_app(auth_rate_limit="2/minute") as (_, client):
        shopper = await sign_up(client, "ada@example.com")  # uses up the two /auth requests
        for _ in range(5):
            response = await client.get(path, headers=shopper.headers)
            data(response)
