"""Every route is rate limited by its class: reads, cart, checkout, account, staff (counted before the route,
core/request_limits.py), auth and tracking (on their routes). Past the limit: 429 with Retry-After, the
standard error body for the API and the storefront's error page for pages. Webhooks are exempt but bounded."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from emporium.accounts.api import auth_rate_limit
from emporium.accounts.service import auth
from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.route_limits import classifier, identifier
from emporium.settings import AppSettings
from emporium.web.browser import Browser
from tests.conftest import MakeContext, sign_up
from tests.support import STRONG_PASSWORD, asgi_client, bearer, data, error
from tests.web.conftest import token_of

TRACK = "order_number=ORD-2026-000001&phone=%2B12025550143"

# setting, method, path, kind, caller
CASES: list[tuple[str, str, str, str, str | None]] = [
    ("rate_limit_reads", "GET", "/api/v1/products", "api", None),
    ("rate_limit_reads", "GET", "/api/v1/users/profile", "api", "customer"),
    ("rate_limit_reads", "GET", "/", "page", None),
    ("rate_limit_reads", "GET", "/p/no-such-product", "page", None),
    ("rate_limit_cart", "POST", "/api/v1/cart/items", "api", None),
    ("rate_limit_cart", "PUT", "/api/v1/cart/items/1", "api", "customer"),
    ("rate_limit_cart", "POST", "/cart/add", "page", None),
    ("rate_limit_checkout", "POST", "/api/v1/orders", "api", None),
    ("rate_limit_checkout", "POST", "/api/v1/payments/create-intent", "api", "customer"),
    ("rate_limit_checkout", "POST", "/checkout/place", "page", None),
    ("rate_limit_account", "PUT", "/api/v1/users/profile", "api", "customer"),
    ("rate_limit_account", "PUT", "/api/v1/orders/1/cancel", "api", None),
    ("rate_limit_account", "POST", "/account/profile", "page", None),
    ("rate_limit_staff", "GET", "/api/v1/admin/orders", "api", "staff"),
    ("rate_limit_staff", "POST", "/api/v1/products", "api", "staff"),
    ("rate_limit_staff", "POST", "/api/v1/payments/refund", "api", "staff"),
    ("auth_rate_limit", "POST", "/api/v1/auth/forgot-password", "api", None),
    ("auth_rate_limit", "POST", "/account/forgot-password", "page", None),
    ("order_track_rate_limit", "GET", f"/api/v1/orders/track?{TRACK}", "api", None),
    (
        "order_track_rate_limit",
        "GET",
        "/track?order_number=ORD-2026-000001&contact=%2B12025550143",
        "page",
        None,
    ),
]


async def _caller_headers(client: httpx.AsyncClient, ctx: AppContext, caller: str | None) -> dict[str, str]:
    if caller == "customer":
        return (await sign_up(client, "ada@example.com")).headers
    if caller == "staff":
        async with ctx.db.session() as session:
            await auth.create_user(
                session, ctx, email="staff@shop.test", password=STRONG_PASSWORD, role="admin"
            )
        body = {"email": "staff@shop.test", "password": STRONG_PASSWORD}
        return bearer(str(data(await client.post("/api/v1/auth/login", json=body))["access_token"]))
    return {}


def _assert_refused(response: httpx.Response, kind: str) -> None:
    assert response.status_code == 429, response.text
    # A sliding window: the hits of this minute still weigh through part of the next one.
    assert 1 <= int(response.headers["Retry-After"]) <= 121
    if kind == "api":
        body = error(response, 429)
        assert body["code"] in {"RATE_LIMITED", "TOO_MANY_ATTEMPTS"}
        assert body["message"]
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert "Slow down a little" in response.text
        assert "Traceback" not in response.text


@pytest.mark.parametrize(("setting", "method", "path", "kind", "caller"), CASES)
async def test_each_route_class_answers_429_with_retry_after_past_its_limit(
    make_context: MakeContext, setting: str, method: str, path: str, kind: str, caller: str | None
) -> None:
    ctx = make_context(**{setting: "2/minute"})
    async with asgi_client(create_app(ctx=ctx)) as client:
        headers = await _caller_headers(client, ctx, caller)
        sent: dict[str, Any] = {}
        if method in {"POST", "PUT"}:
            # Pages check their CSRF token before the auth limit: send a good one (a read, counted apart).
            sent = {"json": {}} if kind == "api" else {"data": {"csrf_token": await token_of(client)}}
        for _ in range(2):
            first = await client.request(method, path, headers=headers, **sent)
            assert first.status_code not in {429, 500}, first.text
        _assert_refused(await client.request(method, path, headers=headers, **sent), kind)


def _routes(app: FastAPI) -> list[APIRoute]:
    found: list[APIRoute] = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            elif hasattr(route, "original_router"):
                walk(route.original_router.routes)

    walk(list(app.router.routes))
    return found


def _carries_the_auth_limit(route: APIRoute) -> bool:
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if dependency.call is auth_rate_limit:
            return True
        stack.extend(dependency.dependencies)
    return False


# Not counted by a class, on purpose: webhooks (the provider retries; their bodies are bounded instead), the
# probes, and static and media files (a page pulls several; a proxy or CDN serves them in production).
EXEMPT = re.compile(r"/api/v1/(payments/webhook.*|webhooks/.+)|/health.*|/metrics|/static/.+|/media/.+")


def test_every_route_is_counted_by_a_class_or_carries_the_auth_limit(settings: AppSettings) -> None:
    app = create_app(settings)
    classify = classifier(settings)
    routes = _routes(app)
    assert len(routes) > 150
    uncounted = []
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in route.methods or ():
            if (
                classify(method, path) is None
                and not _carries_the_auth_limit(route)
                and not EXEMPT.fullmatch(path)
            ):
                uncounted.append(f"{method} {route.path}")
    assert uncounted == []
    # Staff work is its own class wherever it lives.
    assert classify("PUT", "/api/v1/admin/orders/1") == "staff"
    assert classify("DELETE", "/api/v1/products/1") == "staff"
    assert classify("GET", "/api/v1/inventory/low-stock") == "staff"
    assert classify("GET", "/static/app.css") is None


async def test_a_signed_in_user_is_one_client_wherever_they_connect_from(make_context: MakeContext) -> None:
    app = create_app(ctx=make_context(rate_limit_reads="2/minute"))

    def client_from(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 4000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async with client_from("198.51.100.7") as home, client_from("203.0.113.9") as office:
        ada = (await sign_up(home, "ada@example.com")).headers
        bob = (await sign_up(home, "bob@example.com")).headers
        data(await home.get("/api/v1/users/profile", headers=ada))
        data(await office.get("/api/v1/users/profile", headers=ada))
        _assert_refused(await home.get("/api/v1/users/profile", headers=ada), "api")
        # Another user at the same address has a budget of their own, and so has the address itself.
        data(await home.get("/api/v1/users/profile", headers=bob))
        data(await home.get("/api/v1/products"))
        data(await home.get("/api/v1/products"))
        _assert_refused(await home.get("/api/v1/products"), "api")
        data(await office.get("/api/v1/products"))


def test_who_is_asking_trusts_only_a_valid_signature(ctx: AppContext) -> None:
    identify = identifier(ctx.settings, ctx.tokens)
    access, _ = ctx.tokens.issue(41, 7, "access")
    refresh, _ = ctx.tokens.issue(41, 7, "refresh")
    browser = Browser(ctx.settings, "seed", False, None)
    browser.signed_in(42, 9)
    cookie = f"shop_csrf=x; shop_session={browser.new_session_cookie}"

    def scope(*headers: tuple[str, str]) -> dict[str, Any]:
        return {"headers": [(k.encode(), v.encode()) for k, v in headers]}

    assert identify(scope(("authorization", f"Bearer {access}"))) == "user:41"
    assert identify(scope(("cookie", cookie))) == "user:42"
    assert identify(scope()) is None
    assert identify(scope(("authorization", f"Bearer {refresh}"))) is None
    assert identify(scope(("authorization", f"Bearer {access[:-2]}xx"))) is None
    assert (
        identify(scope(("cookie", "shop_session=42.9.forgedforgedforgedforgedforgedforgedforged123"))) is None
    )


async def test_webhooks_are_never_limited_but_their_bodies_are_bounded(make_context: MakeContext) -> None:
    limits = {f"rate_limit_{name}": "1/minute" for name in ("reads", "cart", "checkout", "account", "staff")}
    ctx = make_context(webhook_max_body_bytes=4096, **limits)
    async with asgi_client(create_app(ctx=ctx)) as client:
        for path in ("/api/v1/payments/webhook/test", "/api/v1/payments/webhook", "/api/v1/webhooks/payment"):
            for _ in range(4):
                response = await client.post(
                    path, content=b"{}", headers={"content-type": "application/json"}
                )
                assert response.status_code not in {429, 500}, (path, response.text)
            big = await client.post(path, content=b"x" * 5000, headers={"content-type": "application/json"})
            assert error(big, 413)["code"] == "PAYLOAD_TOO_LARGE"
        for _ in range(4):
            data(await client.get("/health"))
        # Elsewhere the ordinary body limit holds: the same body reaches the route (and its class's limit).
        other = await client.post(
            "/api/v1/cart/items", content=b"x" * 5000, headers={"content-type": "application/json"}
        )
        assert other.status_code != 413
