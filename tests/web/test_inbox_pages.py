"""The inbox page, its forms and the header bell, through the storefront (session cookie and CSRF)."""

from __future__ import annotations

import re

import httpx

from emporium.core.context import AppContext
from tests.conftest import sign_up
from tests.notifications.test_inbox_api import notify
from tests.web.test_account_pages import web_sign_in

BELL_PLACEHOLDER = 'hx-get="/account/inbox/bell"'


def unread_badge(html: str) -> str | None:
    found = re.search(r'<span class="bell__count" id="inbox-unread"[^>]*>([^<]+)</span>', html)
    return found.group(1) if found else None


async def test_anonymous_pages_carry_no_bell(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    assert BELL_PLACEHOLDER not in home.text
    assert (await client.get("/account/inbox/bell")).text.strip() == ""
    inbox = await client.get("/account/inbox")
    assert inbox.status_code == 303
    assert inbox.headers["location"].startswith("/account/sign-in")


async def test_the_inbox_lists_marks_read_and_the_bell_counts(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    ada = await sign_up(client, "ada@example.com")
    eve = await sign_up(client, "eve@example.com")
    ids = await notify(ctx, ada, 3)
    [eves] = await notify(ctx, eve, 1)
    token = await web_sign_in(client, "ada@example.com")

    home = await client.get("/")
    assert BELL_PLACEHOLDER in home.text
    bell = await client.get("/account/inbox/bell")
    assert unread_badge(bell.text) == "3"
    assert bell.headers["cache-control"] == "private, no-store"

    page = await client.get("/account/inbox")
    assert page.status_code == 200
    assert [int(i) for i in re.findall(r'action="/account/inbox/(\d+)/read"', page.text)] == ids[::-1]
    assert "Order 2 shipped" in page.text
    assert 'href="/account/orders/2"' in page.text

    done = await client.post(f"/account/inbox/{ids[0]}/read", data={"csrf_token": token})
    assert done.status_code == 303
    assert done.headers["location"] == "/account/inbox"
    assert unread_badge((await client.get("/account/inbox/bell")).text) == "2"
    # Another customer's id changes nothing; without the CSRF token nothing happens either.
    assert (await client.post(f"/account/inbox/{eves}/read", data={"csrf_token": token})).status_code == 303
    assert (await client.post("/account/inbox/read-all", data={})).status_code == 403
    assert unread_badge((await client.get("/account/inbox/bell")).text) == "2"

    assert (await client.post("/account/inbox/read-all", data={"csrf_token": token})).status_code == 303
    assert unread_badge((await client.get("/account/inbox/bell")).text) is None
    assert "Mark all as read" not in (await client.get("/account/inbox")).text
    eve_count = await client.get("/api/v1/notifications/unread-count", headers=eve.headers)
    assert eve_count.json()["data"] == {"unread_count": 1}


async def test_the_inbox_pages_by_cursor(client: httpx.AsyncClient, ctx: AppContext) -> None:
    ada = await sign_up(client, "ada@example.com")
    ids = await notify(ctx, ada, 25)
    await web_sign_in(client, "ada@example.com")
    first = await client.get("/account/inbox")
    older = re.search(r'href="/account/inbox\?after=([^"]+)" rel="next"', first.text)
    assert older
    second = await client.get(f"/account/inbox?after={older.group(1)}")
    shown = [int(i) for i in re.findall(r'action="/account/inbox/(\d+)/read"', second.text)]
    assert shown == ids[:5][::-1]
    assert (await client.get("/account/inbox?after=%21%21")).status_code == 422
