"""A shop served in production: HSTS, the API's no-store and nosniff headers, CORS off unless origins are
listed, metrics behind a token, API docs hidden unless turned on, and then for signed-in staff only."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.web.browser import CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import MakeContext, sign_up
from tests.inventory.factory import staff_headers
from tests.support import STRONG_PASSWORD, error

DOC_PATHS = ("/api/docs", "/api/redoc", "/api/openapi.json")
METRICS_TOKEN = secrets.token_urlsafe(32)
FRONT_END = "https://app.shop.example"

Shop = Callable[..., AbstractAsyncContextManager[tuple[AppContext, httpx.AsyncClient]]]


@pytest.fixture
def shop(make_context: MakeContext) -> Shop:
    @asynccontextmanager
    async def served(
        *, env: str = "production", **overrides: object
    ) -> AsyncIterator[tuple[AppContext, httpx.AsyncClient]]:
        ctx = make_context(**overrides)
        # Production's refusals are tested in tests/core/test_config.py; here it runs on the test database.
        ctx.settings = ctx.settings.model_copy(update={"env": env})
        # https: production's cookies are Secure.
        transport = httpx.ASGITransport(app=create_app(ctx=ctx), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            yield ctx, client

    return served


async def test_production_sends_hsts_everywhere_and_keeps_api_answers_out_of_caches(shop: Shop) -> None:
    async with shop() as (_, client):
        shopper = await sign_up(client, "headers@example.com")
        for response in (
            await client.get("/api/v1/users/profile", headers=shopper.headers),
            await client.get("/api/v1/products"),
            await client.get("/api/v1/nothing-here"),
            await client.get("/"),
            await client.get("/health/live"),
        ):
            assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        profile = await client.get("/api/v1/users/profile", headers=shopper.headers)
        assert profile.status_code == 200
        assert profile.headers["cache-control"] == "no-store"
        assert profile.headers["x-content-type-options"] == "nosniff"
        assert profile.headers["referrer-policy"] == "no-referrer"
        refused = await client.get("/api/v1/users/profile")
        assert (refused.status_code, refused.headers["cache-control"]) == (401, "no-store")
        # A route's own caching stands (a storefront page is not an API answer).
        assert "no-store" not in (await client.get("/")).headers["cache-control"]
    async with shop(hsts_include_subdomains=False, hsts_max_age_seconds=63072000) as (_, client):
        assert (await client.get("/")).headers["strict-transport-security"] == "max-age=63072000"


async def test_development_sends_no_hsts(shop: Shop) -> None:
    async with shop(env="development") as (_, client):
        response = await client.get("/api/v1/products")
        assert "strict-transport-security" not in response.headers
        assert response.headers["cache-control"] == "no-store"


async def test_cors_is_off_by_default(shop: Shop) -> None:
    async with shop() as (_, client):
        answer = await client.get("/api/v1/products", headers={"Origin": FRONT_END})
        assert "access-control-allow-origin" not in answer.headers
        preflight = await client.options(
            "/api/v1/cart/items",
            headers={"Origin": FRONT_END, "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in preflight.headers


async def test_cors_answers_the_listed_origins_and_their_preflights(shop: Shop) -> None:
    async with shop(cors_allow_origins=[FRONT_END]) as (_, client):
        preflight = await client.options(
            "/api/v1/cart/items",
            headers={
                "Origin": FRONT_END,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-cart-token, idempotency-key",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == FRONT_END
        assert "POST" in preflight.headers["access-control-allow-methods"]
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"content-type", "x-cart-token", "idempotency-key"} <= {h.strip() for h in allowed.split(",")}
        assert "access-control-allow-credentials" not in preflight.headers
        answer = await client.get("/api/v1/products", headers={"Origin": FRONT_END})
        assert answer.headers["access-control-allow-origin"] == FRONT_END
        assert "retry-after" in answer.headers["access-control-expose-headers"].lower()

        other = "https://evil.example"
        refused = await client.options(
            "/api/v1/cart/items", headers={"Origin": other, "Access-Control-Request-Method": "POST"}
        )
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        assert (
            "access-control-allow-origin"
            not in (await client.get("/api/v1/products", headers={"Origin": other})).headers
        )


async def test_metrics_need_the_token_and_are_hidden_in_production_without_one(shop: Shop) -> None:
    async with shop() as (_, client):
        assert error(await client.get("/metrics"), 404)
    async with shop(metrics_token=METRICS_TOKEN) as (_, client):
        refused = await client.get("/metrics")
        assert error(refused, 401)["code"] == "UNAUTHORIZED"
        assert refused.headers["www-authenticate"] == "Bearer"
        for wrong in ("Bearer nope", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x", "Bearer "):
            assert error(await client.get("/metrics", headers={"Authorization": wrong}), 401)
        shown = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert shown.status_code == 200
        assert "emporium_http_requests_total" in shown.text
    async with shop(env="development") as (_, client):
        assert (await client.get("/metrics")).status_code == 200


async def test_api_docs_are_hidden_in_production(shop: Shop) -> None:
    async with shop() as (ctx, client):
        staff = await staff_headers(client, ctx, email="docs-staff@example.com")
        for path in DOC_PATHS:
            assert error(await client.get(path), 404)
            assert error(await client.get(path, headers=staff), 404)
    async with shop(api_docs=False, env="development") as (_, client):
        for path in DOC_PATHS:
            assert error(await client.get(path), 404)


async def _signed_in_browser(client: httpx.AsyncClient, email: str) -> None:
    """Signs in through the storefront's form, as a browser does (session cookie)."""
    client.cookies.set(CSRF_COOKIE, "s" * 43)
    form = await client.get("/account/sign-in")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed = await client.post(
        "/account/sign-in", data={"email": email, "password": STRONG_PASSWORD, "csrf_token": token}
    )
    assert signed.status_code == 303, signed.text[:300]
    assert SESSION_COOKIE in client.cookies


async def test_api_docs_turned_on_in_production_are_for_signed_in_staff(shop: Shop) -> None:
    async with shop(api_docs=True) as (ctx, client):
        await sign_up(client, "docs-customer@example.com")
        await _signed_in_browser(client, "docs-customer@example.com")
        for path in DOC_PATHS:
            assert error(await client.get(path), 404)
    async with shop(api_docs=True) as (ctx, client):
        await staff_headers(client, ctx, email="docs-admin@example.com")
        await _signed_in_browser(client, "docs-admin@example.com")
        page = await client.get("/api/docs")
        assert page.status_code == 200
        assert "swagger-ui" in page.text
        assert (await client.get("/api/openapi.json")).json()["openapi"].startswith("3.")
        assert (await client.get("/api/redoc")).status_code == 307


async def test_api_docs_are_served_from_the_pinned_package_under_the_shops_policy(shop: Shop) -> None:
    async with shop(env="development") as (_, client):
        page = await client.get("/api/docs")
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe" not in policy
        assert "cdn" not in page.text.lower()
        assert "https://" not in page.text
        assert "<script>" not in page.text  # no inline script: every script is a file of this site
        sources = [part.split('"', 1)[0] for part in page.text.split('src="')[1:]]
        sheets = [part.split('"', 1)[0] for part in page.text.split('rel="stylesheet" href="')[1:]]
        assert len(sources) == 2
        assert len(sheets) == 1
        for url in (*sources, *sheets):
            assert url.startswith("/api/docs/assets/")
            asset = await client.get(url)
            assert asset.status_code == 200
            assert "immutable" in asset.headers["cache-control"]
        assert error(await client.get("/api/docs/assets/swagger-ui-bundle.0000000000000000.js"), 404)
        schema = await client.get("/api/openapi.json")
        assert "/api/v1/products" in schema.json()["paths"]
