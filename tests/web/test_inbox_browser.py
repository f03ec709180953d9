"""The inbox, the header bell and the "Turn on notifications" control in a real browser (Debian's chromium
driven by Playwright): a signed-in customer sees the unread count, opens the inbox, marks one read and the
count drops; the service worker registers at the root scope; the control subscribes and unsubscribes.

Headless Chromium has no push service: ``pushManager.subscribe`` there fails with "Registration failed -
permission denied" whatever permission is granted. So the page's ``PushManager.subscribe`` is replaced
(before any script of the page runs) by one that records the options it is given and returns a
subscription made by the loopback push service of tests/notifications/fake_push.py. Everything around
it is real: the permission prompt, the service worker, the CSRF-protected call that stores the
subscription, and a push sent by the provider to the stored subscription, decrypted with its keys."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright, expect
from sqlalchemy import select

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.notifications.models import PushSubscription
from emporium.notifications.providers.base import OutboundMessage
from emporium.notifications.providers.webpush import webpush_provider
from emporium.notifications.vapid import from_b64url, generate_keys
from tests.conftest import MakeContext, Shopper, make_settings, sign_up
from tests.notifications.fake_push import FakePushService
from tests.notifications.test_inbox_api import notify
from tests.support import STRONG_PASSWORD, asgi_client
from tests.web.conftest import CHROMIUM_ARGS, LiveShop, _serve, violations_script, watch_page

KEYS = generate_keys()
EMAIL = "ada@example.com"

STUB = """
(function () {
  var made = SUBSCRIPTION;
  var current = null;
  window.__subscribeCalls = [];
  PushManager.prototype.subscribe = function (options) {
    window.__subscribeCalls.push({
      userVisibleOnly: options.userVisibleOnly,
      key: Array.from(new Uint8Array(options.applicationServerKey)),
    });
    current = {
      endpoint: made.endpoint,
      toJSON: function () { return made; },
      unsubscribe: function () { current = null; return Promise.resolve(true); },
    };
    return Promise.resolve(current);
  };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
})();
"""


@pytest.fixture
async def push_service() -> AsyncIterator[FakePushService]:
    service = FakePushService()
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
def seeding(make_committed_context: MakeContext) -> AppContext:
    return make_committed_context(vapid_private_key=KEYS.private_key, vapid_public_key=KEYS.public_key)


@pytest.fixture
def push_shop(seeding: AppContext) -> Iterator[LiveShop]:
    served = make_settings(
        seeding.settings.database_url,
        None,
        public_url="http://127.0.0.1",
        vapid_private_key=KEYS.private_key,
        vapid_public_key=KEYS.public_key,
    )
    for url in _serve(served):
        yield LiveShop(url, served)


async def subscriptions(ctx: AppContext) -> list[PushSubscription]:
    async with ctx.db.session() as session:
        return list((await session.execute(select(PushSubscription))).scalars())


async def sign_in(page: Page, url: str) -> None:
    await page.goto(url + "/account/inbox")
    await page.get_by_label("E-mail address").fill(EMAIL)
    await page.get_by_label("Password").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(url + "/account/inbox")


async def test_bell_inbox_and_push_control_in_chromium(
    seeding: AppContext,
    push_shop: LiveShop,
    push_service: FakePushService,
    chromium_path: Path,
    artifacts: Path,
) -> None:
    async with asgi_client(create_app(ctx=seeding)) as api:
        ada: Shopper = await sign_up(api, EMAIL, first_name="Ada")
    await notify(seeding, ada, 3)
    made = push_service.subscribe()
    url = push_shop.url
    problems: list[str] = []

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            await context.grant_permissions(["notifications"], origin=url)
            page = await context.new_page()
            await page.add_init_script(violations_script())
            await page.add_init_script(STUB.replace("SUBSCRIPTION", json.dumps(made)))
            watch_page(page, problems)

            # An anonymous page has no bell at all.
            await page.goto(url + "/")
            await expect(page.locator("#inbox-bell")).to_have_count(0)

            await sign_in(page, url)
            await page.goto(url + "/")
            bell = page.locator("#inbox-unread")
            await expect(bell).to_have_text("3")  # loaded by htmx after the page
            await page.locator("#inbox-bell").click()
            await expect(page).to_have_url(url + "/account/inbox")
            await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
            await expect(page.locator(".inbox__item--unread")).to_have_count(3)
            await page.get_by_role("button", name="Mark as read: Order 1 shipped").click()
            await expect(page.locator(".inbox__item--unread")).to_have_count(2)
            await expect(bell).to_have_text("2")

            # The service worker controls the whole shop.
            scope = await page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
            assert scope == url + "/"

            # Turn on notifications: permission, subscribe with the shop's key, the subscription stored.
            await page.get_by_role("button", name="Turn on notifications").click()
            await expect(page.get_by_text("Notifications are on in this browser.")).to_be_visible()
            await expect(page.get_by_role("button", name="Turn on notifications")).to_be_hidden()
            calls: list[dict[str, Any]] = await page.evaluate("window.__subscribeCalls")
            assert calls == [{"userVisibleOnly": True, "key": list(from_b64url(KEYS.public_key))}]
            [stored] = await subscriptions(seeding)
            assert (stored.endpoint, stored.p256dh, stored.auth) == (
                made["endpoint"],
                made["keys"]["p256dh"],
                made["keys"]["auth"],
            )
            await page.screenshot(path=str(artifacts / "account-inbox-1280x800.png"), full_page=True)

            # A push to the stored subscription reaches the push service, decryptable by the browser's keys.
            provider = webpush_provider(seeding.settings)  # type: ignore[arg-type]
            assert provider is not None
            try:
                await provider.send(
                    OutboundMessage(
                        delivery_id=1, idempotency_key="k", channel="push", to=stored.endpoint,
                        event="order.shipped", category="orders", locale="en", subject="Shipped",
                        text="On its way", link=url + "/account/orders/1", topic="order:1",
                        keys={"p256dh": stored.p256dh, "auth": stored.auth},
                    )
                )  # fmt: skip
            finally:
                await provider.aclose()
            assert [p.json for p in push_service.received] == [
                {"title": "Shipped", "body": "On its way", "url": url + "/account/orders/1"}
            ]

            await page.get_by_role("button", name="Turn off notifications").click()
            await expect(page.get_by_text("Notifications are off in this browser.")).to_be_visible()
            await expect(page.get_by_role("button", name="Turn off notifications")).to_be_hidden()
            assert await subscriptions(seeding) == []

            assert await page.evaluate("window.__cspViolations") == []
        finally:
            await browser.close()
    assert problems == []
