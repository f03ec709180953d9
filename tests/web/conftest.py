"""Fixtures of the storefront tests: a catalog built through the admin API, page helpers, and for the
browser tests the app served by uvicorn on loopback with Debian's chromium driving it."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import ConsoleMessage, Error, Page, expect

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.settings import AppSettings
from tests.catalog.conftest import Shop, staff_headers
from tests.conftest import MakeContext, make_settings
from tests.support import asgi_client, free_port

CHROMIUM = Path("/usr/bin/chromium")
# A loaded machine (the suite runs a worker per core) can take longer than Playwright's default 5 s to draw
# a page: every browser test waits up to 20 s for what it expects to see.
expect.set_options(timeout=20_000)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([A-Za-z0-9_-]+)">')
# A shared page (home, category, product, search) carries no token: the visitor fragment brings it.
VISITOR_TOKEN = re.compile(r'data-csrf-token="([A-Za-z0-9_-]+)"')


def csrf_token(html: str) -> str:
    found = CSRF_META.search(html) or VISITOR_TOKEN.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def visitor_token(client: httpx.AsyncClient) -> str:
    """The token the visitor fragment gives this browser, as shop.js reads it on a shared page."""
    response = await client.get("/visitor", headers={"HX-Request": "true"})
    assert response.status_code == 200, response.text
    return csrf_token(response.text)


async def token_of(client: httpx.AsyncClient, path: str = "/account/sign-in") -> str:
    """The token a form of the page at ``path`` posts: the page's own, or on a shared page the one its
    visitor fragment brings."""
    response = await client.get(path)
    assert response.status_code == 200, response.text
    if CSRF_META.search(response.text) is None and 'hx-get="/visitor"' in response.text:
        return await visitor_token(client)
    return csrf_token(response.text)


@pytest.fixture
async def catalog(client: httpx.AsyncClient, ctx: AppContext) -> Shop:
    """Builds catalog objects through the admin API of the test's app."""
    return Shop(client, await staff_headers(client, ctx, "catalog-admin@shop.test", "admin"))


# Browser tests ----------------------------------------------------------------------------------------


@dataclass
class LiveShop:
    url: str
    settings: AppSettings


def _serve(settings: AppSettings) -> Iterator[str]:
    """The app (with its own context, so its connections live on the server's event loop) served by
    uvicorn in a background thread until the test ends."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings=settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-shop", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the shop did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
async def live_catalog(make_committed_context: MakeContext) -> AsyncIterator[Shop]:
    """A catalog committed to the test database (emptied again after the test), built through the API."""
    seeding = make_committed_context()
    async with asgi_client(create_app(ctx=seeding)) as client:
        yield Shop(client, await staff_headers(client, seeding, "live-admin@shop.test", "admin"))


@pytest.fixture
def live_shop(settings: AppSettings, live_catalog: Shop) -> Iterator[LiveShop]:
    served = make_settings(settings.database_url, None, public_url="http://127.0.0.1")
    for url in _serve(served):
        yield LiveShop(url, served)


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        hint = "`python3 make.py test` installs it where apt-get is available"
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} ({hint})")
    return CHROMIUM


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def violations_script() -> str:
    """Collected in the page before any of its scripts run (DevTools injects it, so CSP does not apply)."""
    return (
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )


def watch_page(page: Page, problems: list[str]) -> None:
    """Collect the page's console errors and warnings and its uncaught errors into ``problems``."""

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
