"""The nightly recompute finds and fixes drift; a customer's reviews and votes are in their data export, and
their erasure keeps the reviews (as "A customer") and every count."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from structlog.testing import capture_logs

from emporium.core.context import AppContext
from emporium.core.jobs import enqueue
from emporium.reviews.tasks import RECOMPUTE_JOB
from tests.conftest import Shopper, sign_up
from tests.inventory.factory import Made
from tests.reviews.conftest import approve, customers, summary, write
from tests.support import STRONG_PASSWORD, data


async def test_the_nightly_recompute_finds_and_fixes_drift(
    client: httpx.AsyncClient, ctx: AppContext, product: Made, moderator: dict[str, str]
) -> None:
    pid = product.product.id
    for who, stars in zip(await customers(client, 2, prefix="drift"), (5, 2), strict=True):
        await approve(client, moderator, data(await write(client, who, pid, stars), 201)["id"])
    right = await summary(client, pid)
    assert (right["count"], right["average"]) == (2, "3.50")
    async with ctx.db.session() as session:
        await session.execute(
            text("UPDATE products SET rating_count = 7, rating_average = 4.90 WHERE id = :id"), {"id": pid}
        )
        await session.execute(
            text("UPDATE product_ratings SET stars_3 = 4 WHERE product_id = :id"), {"id": pid}
        )
    assert (await summary(client, pid))["count"] == 7

    with capture_logs() as logs:
        async with ctx.db.session() as session:
            enqueue(session, RECOMPUTE_JOB, {})
        await ctx.jobs.run_until_idle()
    drift = [entry for entry in logs if entry["event"] == "rating_summary_drift"]
    assert [(entry["products"], entry["fixed"]) for entry in drift] == [([pid], True)]
    assert await summary(client, pid) == right
    found = data(await client.get("/api/v1/products", params={"sort": "rating"}))
    assert found[0]["rating"] == {"average": "3.50", "count": 2}

    with capture_logs() as logs:  # nothing left to fix
        async with ctx.db.session() as session:
            enqueue(session, RECOMPUTE_JOB, {})
        await ctx.jobs.run_until_idle()
    assert not [entry for entry in logs if entry["event"] == "rating_summary_drift"]


async def test_export_has_the_reviews_and_votes_and_erasure_keeps_them_anonymous(
    client: httpx.AsyncClient, shopper: Shopper, product: Made, moderator: dict[str, str]
) -> None:
    pid = product.product.id
    other = await sign_up(client, "other@example.com", first_name="Otto", last_name="Other")
    mine = data(await write(client, shopper, pid, 2, title="Mine"), 201)
    theirs = data(await write(client, other, pid, 5, title="Theirs"), 201)
    for review in (mine, theirs):
        await approve(client, moderator, review["id"])
    data(
        await client.post(
            f"/api/v1/reviews/{theirs['id']}/vote", json={"helpful": True}, headers=shopper.headers
        )
    )

    exported = data(await client.get("/api/v1/users/export", headers=shopper.headers))["reviews"]
    assert [(r["id"], r["title"], r["rating"]) for r in exported["reviews"]] == [(mine["id"], "Mine", 2)]
    assert [(v["review_id"], v["helpful"]) for v in exported["votes"]] == [(theirs["id"], True)]

    before = await summary(client, pid)
    erased = await client.request(
        "DELETE", "/api/v1/users/account", json={"password": STRONG_PASSWORD}, headers=shopper.headers
    )
    data(erased)
    assert await summary(client, pid) == before
    shown = {r["id"]: r for r in data(await client.get(f"/api/v1/products/{pid}/reviews"))}
    assert shown[mine["id"]]["author_name"] == "A customer"
    assert shown[theirs["id"]]["author_name"] == "Otto O."
    assert shown[theirs["id"]]["helpful_count"] == 1
