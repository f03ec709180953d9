"""Turning web push on and off: the API (bearer token) and the storefront's control (session + CSRF), the
validation of what a browser sends, and that nobody reaches another customer's subscription."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.notifications.models import PushSubscription
from emporium.notifications.push import endpoint_allowed
from emporium.notifications.vapid import b64url, generate_keys
from tests.conftest import MakeContext, sign_up
from tests.notifications.fake_push import FakePushService
from tests.support import asgi_client, data, error
from tests.web.conftest import token_of
from tests.web.test_account_pages import web_sign_in

API = "/api/v1/push"
KEYS = generate_keys()
FCM = "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bHPRgkF"


@pytest.fixture
def push_ctx(make_context: MakeContext) -> AppContext:
    return make_context(vapid_private_key=KEYS.private_key, vapid_public_key=KEYS.public_key)


@pytest.fixture
async def http(push_ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(ctx=push_ctx)) as client:
        yield client


def browser_subscription(endpoint: str = FCM) -> dict[str, Any]:
    subscription = FakePushService().subscribe()
    return {**subscription, "endpoint": endpoint}


async def stored(ctx: AppContext) -> list[tuple[int, str, str, str]]:
    async with ctx.db.session() as session:
        rows = (await session.execute(select(PushSubscription).order_by(PushSubscription.id))).scalars()
        return [(r.user_id, r.endpoint, r.p256dh, r.auth) for r in rows]


async def test_the_vapid_public_key_is_published_only_when_push_is_set_up(
    http: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    assert data(await http.get(f"{API}/vapid-public-key")) == {"public_key": KEYS.public_key}
    assert error(await client.get(f"{API}/vapid-public-key"), 404)["code"] == "PUSH_NOT_CONFIGURED"


async def test_a_customer_subscribes_a_browser_and_turns_it_off(
    http: httpx.AsyncClient, push_ctx: AppContext
) -> None:
    ada = await sign_up(http, "ada@example.com")
    subscription = browser_subscription()
    made = data(await http.post(f"{API}/subscriptions", json=subscription, headers=ada.headers), 201)
    user_id = ada.tokens["user"]["id"]  # type: ignore[index]
    keys = subscription["keys"]
    assert await stored(push_ctx) == [(user_id, FCM, keys["p256dh"], keys["auth"])]
    assert made["id"] > 0
    # The same browser again (new keys after a reinstall): one row, the new keys.
    again = browser_subscription()
    data(await http.post(f"{API}/subscriptions", json=again, headers=ada.headers), 201)
    assert await stored(push_ctx) == [(user_id, FCM, again["keys"]["p256dh"], again["keys"]["auth"])]

    gone = await http.request("DELETE", f"{API}/subscriptions", json={"endpoint": FCM}, headers=ada.headers)
    assert data(gone) == {"removed": True}
    assert await stored(push_ctx) == []


async def test_signed_in_customers_only(http: httpx.AsyncClient) -> None:
    assert error(await http.post(f"{API}/subscriptions", json=browser_subscription()), 401)
    assert error(await http.request("DELETE", f"{API}/subscriptions", json={"endpoint": FCM}), 401)


async def test_nobody_turns_off_another_customers_browser(
    http: httpx.AsyncClient, push_ctx: AppContext
) -> None:
    ada = await sign_up(http, "ada@example.com")
    eve = await sign_up(http, "eve@example.com")
    data(await http.post(f"{API}/subscriptions", json=browser_subscription(), headers=ada.headers), 201)
    answer = await http.request("DELETE", f"{API}/subscriptions", json={"endpoint": FCM}, headers=eve.headers)
    assert data(answer) == {"removed": False}
    assert [row[1] for row in await stored(push_ctx)] == [FCM]


def _bad_p256dh() -> list[str]:
    not_on_curve = b64url(b"\x04" + b"\x01" * 64)
    return [not_on_curve, "BA" + "!" * 85, b64url(b"\x04" + b"\x02" * 40), b64url(b"\x02" + b"\x01" * 64)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "http://push.example/send/1"}, "endpoint"),  # plain http off loopback
        ({"endpoint": "ftp://fcm.googleapis.com/x"}, "endpoint"),
        ({"endpoint": "https://user:pw@fcm.googleapis.com/x"}, "endpoint"),
        ({"endpoint": "https://evil.example/collect"}, "endpoint"),  # not a push service: no SSRF
        ({"endpoint": "https://fcm.googleapis.com.evil.example/x"}, "endpoint"),
        ({"endpoint": "https://fcm.googleapis.com/" + "x" * 1000}, "endpoint"),
        ({"keys": {"auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys.p256dh"),
        *[
            ({"keys": {"p256dh": bad, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys.p256dh")
            for bad in _bad_p256dh()
        ],
        ({"keys": {"p256dh": FakePushService().subscribe()["keys"]["p256dh"], "auth": "AAAA"}}, "keys.auth"),
        (
            {"keys": {"p256dh": FakePushService().subscribe()["keys"]["p256dh"], "auth": "A" * 23 + "*"}},
            "keys.auth",
        ),
    ],
)
async def test_what_a_browser_sends_is_checked(
    http: httpx.AsyncClient, push_ctx: AppContext, change: dict[str, Any], field: str
) -> None:
    ada = await sign_up(http, "ada@example.com")
    body = {**browser_subscription(), **change}
    refused = error(await http.post(f"{API}/subscriptions", json=body, headers=ada.headers), 422)
    assert field in [d["field"] for d in refused["details"]], refused
    assert await stored(push_ctx) == []


async def test_the_storefront_control_uses_the_session_and_its_csrf_token(
    http: httpx.AsyncClient, push_ctx: AppContext
) -> None:
    await sign_up(http, "ada@example.com")
    subscription = browser_subscription()
    path = "/account/push/subscriptions"
    # Signed out: refused before anything else.
    anonymous_token = await token_of(http)
    assert (
        await http.post(path, json=subscription, headers={"X-CSRF-Token": anonymous_token})
    ).status_code == 401
    token = await web_sign_in(http, "ada@example.com")
    assert (await http.post(path, json=subscription)).status_code == 403  # no CSRF token
    assert await stored(push_ctx) == []
    bad = await http.post(
        path, json={**subscription, "endpoint": "https://evil.example/x"}, headers={"X-CSRF-Token": token}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "endpoint"
    made = await http.post(path, json=subscription, headers={"X-CSRF-Token": token})
    assert made.status_code == 201, made.text
    assert [row[1] for row in await stored(push_ctx)] == [FCM]
    removed = await http.request("DELETE", path, json={"endpoint": FCM}, headers={"X-CSRF-Token": token})
    assert removed.json()["data"] == {"removed": True}
    assert await stored(push_ctx) == []


async def test_the_service_worker_is_served_at_the_root(http: httpx.AsyncClient) -> None:
    answer = await http.get("/sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["cache-control"] == "no-cache"
    assert 'addEventListener("push"' in answer.text
    assert 'addEventListener("notificationclick"' in answer.text


def test_loopback_endpoints_only_outside_production(push_ctx: AppContext) -> None:
    settings = push_ctx.settings
    assert endpoint_allowed(settings, "http://127.0.0.1:8080/push/1")  # type: ignore[arg-type]
    production = settings.model_copy(update={"env": "production"})
    assert not endpoint_allowed(production, "http://127.0.0.1:8080/push/1")  # type: ignore[arg-type]
    assert endpoint_allowed(production, "https://updates.push.services.mozilla.com/wpush/v2/x")  # type: ignore[arg-type]
    assert endpoint_allowed(production, "https://web.push.apple.com/QGuQ")  # type: ignore[arg-type]
