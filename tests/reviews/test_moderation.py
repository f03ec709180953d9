"""Moderation: the staff API and the back office's /admin/reviews, both behind ``reviews:moderate``, every
decision audited with the change."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from emporium.audit.models import AuditEntry
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClientFactory, csrf_of
from tests.conftest import Shopper
from tests.inventory.factory import Made
from tests.reviews.conftest import customers, summary, write
from tests.support import data, error

XSS_TITLE = '<script>alert("pwned")</script>'
XSS_BODY = "<img src=x onerror=alert(1)>"


async def test_the_api_moderates_one_review_and_many_and_audits_each(
    client: httpx.AsyncClient, ctx: AppContext, product: Made, moderator: dict[str, str]
) -> None:
    pid = product.product.id
    people = await customers(client, 3, prefix="mod")
    ids = [
        data(await write(client, who, pid, stars), 201)["id"]
        for who, stars in zip(people, (5, 4, 1), strict=True)
    ]
    queue = (await client.get("/api/v1/admin/reviews", headers=moderator)).json()
    assert [r["id"] for r in queue["data"]] == ids  # oldest first
    assert queue["pagination"]["total"] == 3

    one = {"action": "reject", "note": "Off topic"}
    rejected = data(await client.put(f"/api/v1/admin/reviews/{ids[2]}", json=one, headers=moderator))
    assert (rejected["status"], rejected["moderation_note"]) == ("rejected", "Off topic")
    bulk = {"action": "approve", "note": "ok", "ids": [ids[0], ids[1], 999999]}
    assert data(await client.post("/api/v1/admin/reviews/bulk", json=bulk, headers=moderator)) == {
        "decided": ids[:2]
    }
    assert (await summary(client, pid))["count"] == 2
    assert (await summary(client, pid))["average"] == "4.50"
    approved = (await client.get("/api/v1/admin/reviews?status=approved", headers=moderator)).json()
    assert sorted(r["id"] for r in approved["data"]) == ids[:2]

    async with ctx.db.session() as session:
        entries = (
            await session.execute(select(AuditEntry).where(AuditEntry.object_type == "review"))
        ).scalars()
        got = sorted((e.action, e.object_id, e.actor_email) for e in entries)
    assert got == sorted(
        [
            ("review.reject", str(ids[2]), "moderator@example.com"),
            ("review.approve", str(ids[0]), "moderator@example.com"),
            ("review.approve", str(ids[1]), "moderator@example.com"),
        ]
    )
    missing = await client.put("/api/v1/admin/reviews/999999", json=one, headers=moderator)
    assert error(missing, 404)["code"] == "REVIEW_NOT_FOUND"
    bad = await client.put(f"/api/v1/admin/reviews/{ids[0]}", json={"action": "delete"}, headers=moderator)
    assert error(bad, 422)["code"] == "VALIDATION_ERROR"


async def test_a_support_agent_is_refused_everywhere(
    client: httpx.AsyncClient,
    shopper: Shopper,
    product: Made,
    support: dict[str, str],
    staff_client: StaffClientFactory,
) -> None:
    review = data(await write(client, shopper, product.product.id), 201)
    body = {"action": "approve", "note": ""}
    assert (
        error(await client.get("/api/v1/admin/reviews", headers=support), 403)["code"] == "PERMISSION_DENIED"
    )
    put = await client.put(f"/api/v1/admin/reviews/{review['id']}", json=body, headers=support)
    assert error(put, 403)["code"] == "PERMISSION_DENIED"
    bulk = await client.post(
        "/api/v1/admin/reviews/bulk", json={**body, "ids": [review["id"]]}, headers=support
    )
    assert error(bulk, 403)["code"] == "PERMISSION_DENIED"
    assert error(await client.get("/api/v1/admin/reviews", headers=shopper.headers), 403)

    agent = await staff_client("support")
    assert (await agent.get("/admin/reviews")).status_code == 403
    home = await agent.get("/admin")
    assert 'href="/admin/reviews"' not in home.text
    forged = await agent.post(
        "/admin/reviews/moderate",
        data={"csrf_token": agent.csrf, "row_action": f"approve:{review['id']}", "note": ""},
    )
    assert forged.status_code == 403
    assert (await summary(client, product.product.id))["count"] == 0


async def test_the_moderation_page_shows_text_escaped_and_decides_in_bulk(
    client: httpx.AsyncClient, product: Made, staff_client: StaffClientFactory
) -> None:
    pid = product.product.id
    a, b, c = await customers(client, 3, prefix="page")
    hostile = data(await write(client, a, pid, 2, title=XSS_TITLE, body=XSS_BODY), 201)
    second = data(await write(client, b, pid, 4), 201)
    third = data(await write(client, c, pid, 5), 201)
    mod = await staff_client("moderator")
    page = await mod.get("/admin/reviews")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page.text
    assert XSS_TITLE not in page.text
    assert XSS_BODY not in page.text
    assert 'href="/admin/reviews"' in page.text  # in the sidebar
    csrf = csrf_of(page.text)

    no_csrf = await mod.post(
        "/admin/reviews/moderate", data={"action": "approve", "ids": [str(second["id"])]}
    )
    assert no_csrf.status_code == 403
    assert (await summary(client, pid))["count"] == 0

    bulk = await mod.post(
        "/admin/reviews/moderate",
        data={
            "csrf_token": csrf,
            "action": "approve",
            "ids": [str(second["id"]), str(third["id"])],
            "note": "ok",
        },
    )
    assert bulk.status_code == 303
    assert (await mod.get(bulk.headers["location"])).text.count("2 reviews approved.") == 1
    one = await mod.post(
        "/admin/reviews/moderate",
        data={"csrf_token": csrf, "row_action": f"spam:{hostile['id']}", "note": "bot"},
    )
    assert one.status_code == 303
    assert (await summary(client, pid))["count"] == 2
    spam = await mod.get("/admin/reviews?status=spam")
    assert "&lt;script&gt;" in spam.text
    assert "Note: bot" in spam.text
    bad = await mod.post("/admin/reviews/moderate", data={"csrf_token": csrf, "row_action": "burn:1"})
    assert bad.status_code == 422
