"""The in-app inbox API (seed 002): a customer's notifications newest first a keyset page at a time, the
unread count, marking one or all read, and never another customer's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from emporium.core.context import AppContext
from emporium.notifications.models import Notification
from tests.conftest import Shopper, sign_up
from tests.support import data, error

API = "/api/v1/notifications"


def user_id(shopper: Shopper) -> int:
    return int(shopper.tokens["user"]["id"])  # type: ignore[index]


async def notify(ctx: AppContext, shopper: Shopper, count: int, *, event: str = "order.shipped") -> list[int]:
    """``count`` notifications for the shopper, written as planning writes them (oldest first)."""
    uid = user_id(shopper)
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    async with ctx.db.session() as session:
        rows = [
            Notification(
                event=event,
                event_key=f"{event}:{uid}:{n}",
                category="orders",
                recipient_key=f"user:{uid}",
                user_id=uid,
                locale="en",
                title=f"Order {n} shipped",
                body=f"Your order number {n} is on its way.",
                link=f"/account/orders/{n}",
                context={"order_number": str(n)},
                created_at=start + timedelta(minutes=n),
            )
            for n in range(count)
        ]
        session.add_all(rows)
        await session.flush()
        ids = [row.id for row in rows]
        await session.commit()
    return ids


async def test_the_inbox_pages_newest_first_with_the_unread_count(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    ada = await sign_up(client, "ada@example.com")
    eve = await sign_up(client, "eve@example.com")
    ids = await notify(ctx, ada, 5)
    await notify(ctx, eve, 2)

    first = (await client.get(API, params={"limit": 2}, headers=ada.headers)).json()
    assert first["success"] is True
    assert [n["id"] for n in first["data"]] == [ids[4], ids[3]]
    assert first["pagination"]["unread_count"] == 5
    newest = first["data"][0]
    assert newest == {
        "id": ids[4],
        "type": "order.shipped",
        "category": "orders",
        "title": "Order 4 shipped",
        "message": "Your order number 4 is on its way.",
        "link": "/account/orders/4",
        "is_read": False,
        "read_at": None,
        "created_at": newest["created_at"],
    }
    after = first["pagination"]["next_cursor"]
    second = (await client.get(API, params={"limit": 2, "after": after}, headers=ada.headers)).json()
    assert [n["id"] for n in second["data"]] == [ids[2], ids[1]]
    last = (
        await client.get(
            API, params={"limit": 2, "after": second["pagination"]["next_cursor"]}, headers=ada.headers
        )
    ).json()
    assert [n["id"] for n in last["data"]] == [ids[0]]
    assert last["pagination"]["next_cursor"] is None
    assert data(await client.get(f"{API}/unread-count", headers=ada.headers)) == {"unread_count": 5}
    assert data(await client.get(f"{API}/unread-count", headers=eve.headers)) == {"unread_count": 2}


async def test_marking_read_one_then_all(client: httpx.AsyncClient, ctx: AppContext) -> None:
    ada = await sign_up(client, "ada@example.com")
    eve = await sign_up(client, "eve@example.com")
    ids = await notify(ctx, ada, 3)
    eves = await notify(ctx, eve, 1)

    answer = await client.put(f"{API}/{ids[1]}/read", headers=ada.headers)
    read = data(answer)
    assert answer.json()["message"] == "Notification marked as read"
    assert read["is_read"] is True
    assert read["read_at"] is not None
    # Again: still read, the first time kept.
    assert data(await client.put(f"{API}/{ids[1]}/read", headers=ada.headers))["read_at"] == read["read_at"]
    assert data(await client.get(f"{API}/unread-count", headers=ada.headers)) == {"unread_count": 2}
    unread = (await client.get(API, params={"unread_only": "true"}, headers=ada.headers)).json()
    assert [n["id"] for n in unread["data"]] == [ids[2], ids[0]]

    assert data(await client.put(f"{API}/read-all", headers=ada.headers)) == {"marked": 2, "unread_count": 0}
    assert data(await client.get(f"{API}/unread-count", headers=ada.headers)) == {"unread_count": 0}
    # Eve's notification is untouched by Ada's read-all.
    assert data(await client.get(f"{API}/unread-count", headers=eve.headers)) == {"unread_count": 1}
    assert eves


async def test_another_customers_notification_is_not_found(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    ada = await sign_up(client, "ada@example.com")
    eve = await sign_up(client, "eve@example.com")
    [theirs] = await notify(ctx, eve, 1)
    assert error(await client.put(f"{API}/{theirs}/read", headers=ada.headers), 404)["code"] == "NOT_FOUND"
    assert error(await client.put(f"{API}/999999/read", headers=ada.headers), 404)
    assert data(await client.get(f"{API}/unread-count", headers=eve.headers)) == {"unread_count": 1}
    assert [n["id"] for n in (await client.get(API, headers=ada.headers)).json()["data"]] == []


async def test_signed_in_only_and_bad_input_is_a_4xx(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", API),
        ("GET", f"{API}/unread-count"),
        ("PUT", f"{API}/read-all"),
        ("PUT", f"{API}/1/read"),
    ):
        assert error(await client.request(method, path), 401)
    ada = await sign_up(client, "ada@example.com")
    assert error(await client.get(API, params={"after": "not a cursor"}, headers=ada.headers), 422)
    assert error(await client.get(API, params={"limit": 0}, headers=ada.headers), 422)
    assert error(await client.put(f"{API}/0/read", headers=ada.headers), 422)
