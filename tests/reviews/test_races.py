"""Concurrent requests against one review or one product: the database keeps one review per customer per
product and one vote per customer per review, and the summary loses no count.

Every request here really commits (``make_committed_context``) and all of them start together. On SQLite
the writers queue for the write lock; on PostgreSQL they really overlap.
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.reviews import summary as rating_summary
from emporium.reviews.models import Review, ReviewVote
from tests.conftest import MakeContext, sign_up
from tests.inventory.factory import make_product, staff_headers
from tests.reviews.conftest import customers, write
from tests.support import asgi_client, data


async def _count(ctx: AppContext, model: type[Review] | type[ReviewVote]) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_twenty_concurrent_posts_make_one_review(make_committed_context: MakeContext) -> None:
    # Past the customer's limit the posts would be refused with 429 before they race (proved elsewhere).
    ctx = make_committed_context(reviews_rate_limit_customer="100/minute")
    async with ctx.db.session() as session:
        pid = (await make_product(session, "Raced kettle")).product.id
    async with asgi_client(create_app(ctx=ctx)) as client:
        who = await sign_up(client, "racer@example.com", first_name="Race")
        responses = await asyncio.gather(*(write(client, who, pid, 1 + i % 5) for i in range(20)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 19, [r.text for r in responses if r.status_code >= 500]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"REVIEW_EXISTS"}
    assert await _count(ctx, Review) == 1


async def test_concurrent_votes_count_once_per_customer(make_committed_context: MakeContext) -> None:
    ctx = make_committed_context(reviews_auto_publish=True)
    async with ctx.db.session() as session:
        pid = (await make_product(session, "Voted kettle")).product.id
    async with asgi_client(create_app(ctx=ctx)) as client:
        author, twice = await customers(client, 2, prefix="voter")
        crowd = await customers(client, 12, prefix="crowd")
        review = data(await write(client, author, pid, 5), 201)
        url = f"/api/v1/reviews/{review['id']}/vote"
        same = [client.post(url, json={"helpful": True}, headers=twice.headers) for _ in range(10)]
        many = [
            client.post(url, json={"helpful": i % 3 != 0}, headers=c.headers) for i, c in enumerate(crowd)
        ]
        own = [client.post(url, json={"helpful": True}, headers=author.headers) for _ in range(3)]
        responses = await asyncio.gather(*same, *many, *own)
    assert [r.status_code for r in responses[-3:]] == [409] * 3
    assert all(r.status_code == 200 for r in responses[:-3]), [
        r.text for r in responses if r.status_code >= 500
    ]
    async with ctx.db.session() as session:
        stored = await session.get(Review, review["id"])
        assert stored is not None
        assert (stored.helpful_count, stored.not_helpful_count) == (1 + 8, 4)
    assert await _count(ctx, ReviewVote) == 13


async def test_concurrent_reviews_and_decisions_keep_the_summary_right(
    make_committed_context: MakeContext,
) -> None:
    ctx = make_committed_context(reviews_auto_publish=True, reviews_report_threshold=2)
    async with ctx.db.session() as session:
        pids = [(await make_product(session, f"Busy kettle {i}")).product.id for i in range(2)]
    async with asgi_client(create_app(ctx=ctx)) as client:
        moderator = await staff_headers(client, ctx, email="busy-mod@example.com", role="moderator")
        first = await customers(client, 6, prefix="early")
        later = await customers(client, 10, prefix="late")
        early = [data(await write(client, c, pids[i % 2], 1 + i % 5), 201)["id"] for i, c in enumerate(first)]
        reject, ok = {"action": "reject", "note": ""}, {"action": "approve", "note": ""}
        work = [write(client, c, pids[i % 2], 1 + (i * 3) % 5) for i, c in enumerate(later)]
        # The last approval races the author's deletion: either may come first (then it is a 404).
        work += [
            client.put(f"/api/v1/admin/reviews/{r}", json=reject if n < 3 else ok, headers=moderator)
            for n, r in enumerate(early)
        ]
        work += [
            client.post(f"/api/v1/reviews/{early[4]}/report", json={"reason": "x"}, headers=c.headers)
            for c in later[:3]
        ]
        work += [client.delete(f"/api/v1/reviews/{early[5]}", headers=first[5].headers)]
        results = await asyncio.gather(*work, return_exceptions=True)
    for result in results:
        assert not isinstance(result, BaseException), result
        if isinstance(result, httpx.Response):
            assert result.status_code < 500, result.text
    async with ctx.db.session() as session:
        report = await rating_summary.recompute(session, fix=False)
    assert report.drifted == []
