"""X-Forwarded-For names the client only when the connection comes from a proxy listed in
EMPORIUM_TRUSTED_PROXIES: otherwise rotating it would give every request a fresh rate limit key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from emporium.app import create_app
from emporium.core.proxies import TrustedProxyMiddleware
from emporium.settings import AppSettings
from tests.conftest import MakeContext
from tests.support import error

FORGOT = "/api/v1/auth/forgot-password"
TRACK = "/api/v1/orders/track"


@asynccontextmanager
async def _client(
    make_context: MakeContext, peer: str, **settings: object
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx=make_context(**settings))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(peer, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize("peer", ["127.0.0.1", "203.0.113.50"])
async def test_a_spoofed_forwarded_for_changes_nothing_without_a_trusted_proxy(
    make_context: MakeContext, peer: str
) -> None:
    async with _client(
        make_context, peer, auth_rate_limit="3/minute", order_track_rate_limit="2/minute"
    ) as client:
        for n in range(3):
            spoofed = {"X-Forwarded-For": f"198.51.100.{n}", "X-Real-IP": f"198.51.100.{n}"}
            assert (
                await client.post(FORGOT, json={"email": "a@example.com"}, headers=spoofed)
            ).status_code == 202
        refused = await client.post(
            FORGOT, json={"email": "a@example.com"}, headers={"X-Forwarded-For": "10.9.9.9"}
        )
        assert error(refused, 429)["code"] == "RATE_LIMITED"

        params = {"order_number": "ORD-2026-000001", "phone": "+12025550143"}
        for n in range(2):
            error(await client.get(TRACK, params=params, headers={"X-Forwarded-For": f"192.0.2.{n}"}), 404)
        error(await client.get(TRACK, params=params, headers={"X-Forwarded-For": "192.0.2.99"}), 429)


async def test_a_listed_proxy_is_believed_and_only_its_own_hop(make_context: MakeContext) -> None:
    async with _client(
        make_context, "10.0.0.5", auth_rate_limit="1/minute", trusted_proxies=["10.0.0.0/24"]
    ) as client:
        # Each client behind the proxy has its own budget.
        for n in range(3):
            ok = await client.post(
                FORGOT, json={"email": "a@e.com"}, headers={"X-Forwarded-For": f"198.51.100.{n}"}
            )
            assert ok.status_code == 202
        # What a client writes to the left of the address the proxy appended is not believed.
        for n in range(3):
            forged = {"X-Forwarded-For": f"192.0.2.{n}, 198.51.100.0"}
            error(await client.post(FORGOT, json={"email": "a@e.com"}, headers=forged), 429)


def test_the_client_is_the_right_most_address_that_is_not_a_trusted_proxy() -> None:
    middleware = TrustedProxyMiddleware(app=None, trusted=["10.0.0.0/8", "2001:db8::/32"])  # type: ignore[arg-type]

    def client_of(peer: str, forwarded: str | None, proto: str | None = None) -> tuple[str, str]:
        headers: list[tuple[bytes, bytes]] = []
        if forwarded is not None:
            headers.append((b"x-forwarded-for", forwarded.encode()))
        if proto is not None:
            headers.append((b"x-forwarded-proto", proto.encode()))
        scope: dict[str, Any] = {"type": "http", "client": (peer, 1234), "headers": headers, "scheme": "http"}
        if middleware.trusts(peer):
            middleware._apply(scope, 1234)
        return str(scope["client"][0]), str(scope["scheme"])

    assert client_of("10.1.1.1", "198.51.100.7") == ("198.51.100.7", "http")
    assert client_of("10.1.1.1", "192.0.2.1, 198.51.100.7, 10.2.2.2", "https") == ("198.51.100.7", "https")
    assert client_of("2001:db8::1", "2001:db8::5, 198.51.100.7") == ("198.51.100.7", "http")
    assert client_of("10.1.1.1", "not-an-address") == ("10.1.1.1", "http")
    assert client_of("10.1.1.1", None, "gopher") == ("10.1.1.1", "http")
    assert client_of("203.0.113.1", "198.51.100.7", "https") == ("203.0.113.1", "http")


def test_the_setting_takes_a_list_and_refuses_what_is_not_a_network() -> None:
    assert AppSettings(trusted_proxies="10.0.0.1, 10.1.0.0/16").trusted_proxies == ["10.0.0.1", "10.1.0.0/16"]
    assert AppSettings(trusted_proxies='["::1"]').trusted_proxies == ["::1"]
    assert AppSettings().trusted_proxies == []
    with pytest.raises(ValueError, match="EMPORIUM_TRUSTED_PROXIES"):
        AppSettings(trusted_proxies="proxy.internal")
