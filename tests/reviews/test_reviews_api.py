"""The reviews API as a customer uses it: one review per product, edits back to moderation, votes, reports,
what is shown and counted, and what is refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.orders.models import Order
from emporium.reviews.models import Review
from tests.conftest import MakeContext, Shopper, sign_up
from tests.inventory.factory import Made, make_product
from tests.orders.conftest import place_for
from tests.reviews.conftest import approve, customers, summary, write
from tests.support import count_statements, data, error

STARS_ZERO = {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}


async def _stored(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(Review))).scalar_one())


async def test_a_review_is_counted_once_approved_and_an_edit_goes_back_to_moderation(
    client: httpx.AsyncClient, shopper: Shopper, product: Made, moderator: dict[str, str]
) -> None:
    pid = product.product.id
    review = data(await write(client, shopper, pid, 4), 201)
    assert (review["status"], review["author_name"], review["is_own"]) == ("pending", "Ada L.", True)
    assert await summary(client, pid) == {"count": 0, "average": None, "per_star": STARS_ZERO}
    await approve(client, moderator, review["id"])
    assert await summary(client, pid) == {"count": 1, "average": "4.00", "per_star": {**STARS_ZERO, "4": 1}}
    listed = (await client.get(f"/api/v1/products/{pid}/reviews", headers=shopper.headers)).json()
    assert [r["id"] for r in listed["data"]] == [review["id"]]
    assert listed["data"][0]["is_own"] is True
    # The (cached) product list and search's rating filter read the product's own columns.
    assert await _listed_rating(client) == {"average": "4.00", "count": 1}
    assert await _rated_at_least_4(client) == [pid]

    edited = data(
        await client.put(
            f"/api/v1/reviews/{review['id']}", json={"rating": 2, "title": "Meh"}, headers=shopper.headers
        )
    )
    assert (edited["status"], edited["rating"]) == ("pending", 2)
    assert (await summary(client, pid))["count"] == 0
    assert await _listed_rating(client) == {"average": "0.00", "count": 0}
    assert await _rated_at_least_4(client) == []
    await approve(client, moderator, review["id"])
    assert await summary(client, pid) == {"count": 1, "average": "2.00", "per_star": {**STARS_ZERO, "2": 1}}

    data(await client.delete(f"/api/v1/reviews/{review['id']}", headers=shopper.headers))
    assert await summary(client, pid) == {"count": 0, "average": None, "per_star": STARS_ZERO}


async def test_one_review_per_customer_per_product(
    client: httpx.AsyncClient, shopper: Shopper, product: Made
) -> None:
    data(await write(client, shopper, product.product.id), 201)
    assert error(await write(client, shopper, product.product.id, 3), 409)["code"] == "REVIEW_EXISTS"


async def test_writes_are_rate_limited_per_customer_and_per_address(
    make_context: MakeContext, ctx: AppContext
) -> None:
    limited = make_context(reviews_rate_limit_customer="2/hour", reviews_rate_limit_address="3/hour")
    async with limited.db.session() as session:
        pids = [(await make_product(session, f"Limited {i}")).product.id for i in range(4)]
    async with _client(limited) as client:
        one, two = await customers(client, 2, prefix="lim")
        assert [(await write(client, one, pid)).status_code for pid in pids[:3]] == [201, 201, 429]
        refused = await write(client, two, pids[0])
        assert refused.status_code == 201
        refused = await write(client, two, pids[1])  # the address's fourth
        assert error(refused, 429)["code"] == "RATE_LIMITED"
        assert int(refused.headers["Retry-After"]) >= 1
    assert await _stored(ctx) == 3


async def test_auto_publish_shows_at_once_unless_a_link_or_banned_word_holds_it(
    make_context: MakeContext, product: Made
) -> None:
    ctx = make_context(reviews_auto_publish=True, reviews_banned_words="scam, knockoff")
    async with _client(ctx) as client:
        a, b, c, d = await customers(client, 4)
        pid = product.product.id
        assert data(await write(client, a, pid, 5), 201)["status"] == "approved"
        linked = data(await write(client, b, pid, 1, body="Cheaper at www.example.com"), 201)
        banned = data(await write(client, c, pid, 1, title="A KNOCKOFF"), 201)
        bot = data(await write(client, d, pid, 5, website="http://spam.example"), 201)
        assert [linked["status"], banned["status"], bot["status"]] == ["pending", "pending", "spam"]
        assert (await summary(client, pid))["count"] == 1


async def test_xss_comes_back_as_text(
    client: httpx.AsyncClient, shopper: Shopper, product: Made, moderator: dict[str, str]
) -> None:
    payload = {"title": '<script>alert("t")</script>', "body": '<img src=x onerror=alert(1)> & "quotes"'}
    review = data(await write(client, shopper, product.product.id, 5, **payload), 201)
    await approve(client, moderator, review["id"])
    listed = (await client.get(f"/api/v1/products/{product.product.id}/reviews")).json()["data"][0]
    assert (listed["title"], listed["body"]) == (payload["title"], payload["body"])


async def test_another_customers_review_cannot_be_edited_or_deleted(
    client: httpx.AsyncClient, shopper: Shopper, product: Made
) -> None:
    review = data(await write(client, shopper, product.product.id), 201)
    mallory = await sign_up(client, "mallory@example.com")
    url = f"/api/v1/reviews/{review['id']}"
    assert error(await client.put(url, json={"rating": 1}, headers=mallory.headers), 404)["code"] == (
        "REVIEW_NOT_FOUND"
    )
    assert error(await client.delete(url, headers=mallory.headers), 404)["code"] == "REVIEW_NOT_FOUND"
    assert error(await client.delete(url), 401)["code"] == "UNAUTHORIZED"


async def test_votes(
    client: httpx.AsyncClient, shopper: Shopper, product: Made, moderator: dict[str, str]
) -> None:
    review = data(await write(client, shopper, product.product.id), 201)
    url = f"/api/v1/reviews/{review['id']}/vote"
    voter = await sign_up(client, "voter@example.com")
    # Not shown yet: as if it did not exist.
    assert error(await client.post(url, json={"helpful": True}, headers=voter.headers), 404)["code"] == (
        "REVIEW_NOT_FOUND"
    )
    await approve(client, moderator, review["id"])
    own = await client.post(url, json={"helpful": True}, headers=shopper.headers)
    assert error(own, 409)["code"] == "OWN_REVIEW_VOTE"
    assert data(await client.post(url, json={"helpful": True}, headers=voter.headers)) == {
        "helpful": 1,
        "not_helpful": 0,
    }
    assert data(await client.post(url, json={"helpful": True}, headers=voter.headers))["helpful"] == 1
    assert data(await client.post(url, json={"helpful": False}, headers=voter.headers)) == {
        "helpful": 0,
        "not_helpful": 1,
    }
    assert error(await client.post(url, json={"helpful": "maybe"}, headers=voter.headers), 422)


async def test_buyers_only_refuses_unverified_reviews(
    make_context: MakeContext, ctx: AppContext, product: Made
) -> None:
    strict = make_context(reviews_buyers_only=True)
    async with _client(strict) as client:
        buyer, stranger = await customers(client, 2, prefix="buyer")
        refused = await write(client, stranger, product.product.id)
        assert error(refused, 403)["code"] == "REVIEW_NOT_ALLOWED"
        placed = await place_for(client, strict, buyer)
        bought = placed.product.product.id
        unpaid = await write(client, buyer, bought)
        assert error(unpaid, 403)["code"] == "REVIEW_NOT_ALLOWED"
        async with strict.db.session() as session:
            order = await session.get(Order, placed.order["id"])
            assert order is not None
            order.payment_status = "paid"
        review = data(await write(client, buyer, bought), 201)
        assert review["verified_purchase"] is True
    assert await _stored(ctx) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"rating": 0},
        {"rating": 6},
        {"rating": "x"},
        {"rating": True},
        {"rating": None},
        {"title": "x" * 121},
        {"title": "t" * 100_000},
        {"body": "b" * 5001},
        {"title": "bad\x00nul"},
        {"title": "bell\x07"},
        {"body": "esc \x1b[31m red"},
        {"website": "w" * 201},
    ],
)
async def test_hostile_input_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, product: Made, body: dict[str, Any]
) -> None:
    sent = {"rating": 5, "title": "t", "body": "b", **body}
    response = await client.post(
        f"/api/v1/products/{product.product.id}/reviews", json=sent, headers=shopper.headers
    )
    assert error(response, 422)["code"] == "VALIDATION_ERROR"
    assert await _stored(ctx) == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/products/abc/reviews"),
        ("GET", "/api/v1/products/0/reviews"),
        ("GET", "/api/v1/products/99999999999999999999999/reviews"),
        ("GET", "/api/v1/products/1/reviews?rating=9"),
        ("GET", "/api/v1/products/1/reviews?sort=random"),
        ("GET", "/api/v1/products/1/reviews?limit=1000"),
        ("POST", "/api/v1/products/abc/reviews"),
        ("PUT", "/api/v1/reviews/abc"),
        ("DELETE", "/api/v1/reviews/-1"),
        ("POST", "/api/v1/reviews/1.5/vote"),
        ("POST", "/api/v1/reviews/x/report"),
    ],
)
async def test_bad_ids_and_parameters_are_4xx(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, method: str, path: str
) -> None:
    body = {"rating": 5, "helpful": True}
    response = await client.request(method, path, json=body, headers=shopper.headers)
    assert response.status_code == 422, response.text
    assert response.json()["success"] is False
    assert await _stored(ctx) == 0


async def test_an_unknown_or_unpublished_product_has_no_reviews(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        draft = await make_product(session, "Secret draft", status="draft")
    for pid in (draft.product.id, 987654):
        assert error(await client.get(f"/api/v1/products/{pid}/reviews"), 404)["code"] == "PRODUCT_NOT_FOUND"
        assert error(await write(client, shopper, pid), 404)["code"] == "PRODUCT_NOT_FOUND"


async def test_reports_past_the_threshold_hide_the_review_until_a_moderator_approves(
    make_context: MakeContext, product: Made
) -> None:
    ctx = make_context(reviews_report_threshold=2)
    async with _client(ctx) as client:
        author, r1, r2 = await customers(client, 3, prefix="rep")
        moderator = await _moderator(client, ctx)
        pid = product.product.id
        review = data(await write(client, author, pid, 1), 201)
        await approve(client, moderator, review["id"])
        assert (await summary(client, pid))["count"] == 1
        url = f"/api/v1/reviews/{review['id']}/report"
        own = await client.post(url, json={"reason": "mine"}, headers=author.headers)
        assert error(own, 409)["code"] == "OWN_REVIEW_REPORT"
        data(await client.post(url, json={"reason": "rude"}, headers=r1.headers))
        data(await client.post(url, json={"reason": "again"}, headers=r1.headers))  # counted once
        assert (await summary(client, pid))["count"] == 1
        data(await client.post(url, json={"reason": "rude"}, headers=r2.headers))
        assert await summary(client, pid) == {"count": 0, "average": None, "per_star": STARS_ZERO}
        assert data(await client.get(f"/api/v1/products/{pid}/reviews")) == []
        queue = (await client.get("/api/v1/admin/reviews?reported=true", headers=moderator)).json()
        assert [(r["id"], r["report_count"], r["held_reason"]) for r in queue["data"]] == [
            (review["id"], 2, "reported")
        ]
        await approve(client, moderator, review["id"])
        assert (await summary(client, pid))["count"] == 1


async def test_sorts_filters_and_pages(
    client: httpx.AsyncClient, product: Made, moderator: dict[str, str]
) -> None:
    pid = product.product.id
    people = await customers(client, 4, prefix="sort")
    ids = []
    for who, stars in zip(people, (3, 5, 1, 5), strict=True):
        review = data(await write(client, who, pid, stars), 201)
        await approve(client, moderator, review["id"])
        ids.append(review["id"])
    voter = await sign_up(client, "sort-voter@example.com")
    data(await client.post(f"/api/v1/reviews/{ids[2]}/vote", json={"helpful": True}, headers=voter.headers))

    async def order(**params: Any) -> list[int]:
        return [r["id"] for r in data(await client.get(f"/api/v1/products/{pid}/reviews", params=params))]

    assert await order() == ids[::-1]
    assert await order(sort="highest") == [ids[3], ids[1], ids[0], ids[2]]
    assert await order(sort="lowest") == [ids[2], ids[0], ids[3], ids[1]]
    assert (await order(sort="helpful"))[0] == ids[2]
    assert await order(rating=5) == [ids[3], ids[1]]
    page = (await client.get(f"/api/v1/products/{pid}/reviews", params={"limit": 3, "page": 2})).json()
    assert page["pagination"] == {"page": 2, "limit": 3, "total": 4, "pages": 2, "total_exact": True}
    assert [r["id"] for r in page["data"]] == [ids[0]]
    stars = {**STARS_ZERO, "1": 1, "3": 1, "5": 2}
    assert page["summary"] == {"count": 4, "average": "3.50", "per_star": stars}


async def test_a_page_of_reviews_costs_a_few_statements_whatever_its_size(
    client: httpx.AsyncClient, ctx: AppContext, engine: AsyncEngine, product: Made
) -> None:
    pid = product.product.id
    async with ctx.db.session() as session:
        others = [await make_product(session, f"Other {i}") for i in range(2)]
        for i in range(30):
            session.add(Review(product_id=pid, rating=1 + i % 5, title=f"t{i}", body="b", status="approved"))
        session.add(Review(product_id=others[0].product.id, rating=5, title="o", body="b", status="approved"))
    counts = []
    await client.get(f"/api/v1/products/{pid}/reviews")  # the first request of an app reads its settings
    for limit in (5, 30):
        with count_statements(engine) as statements:
            response = await client.get(f"/api/v1/products/{pid}/reviews", params={"limit": limit})
        assert len(response.json()["data"]) == limit
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 4, counts


async def _listed_rating(client: httpx.AsyncClient) -> dict[str, Any]:
    return dict(data(await client.get("/api/v1/products", params={"sort": "rating"}))[0]["rating"])


async def _rated_at_least_4(client: httpx.AsyncClient) -> list[int]:
    found = await client.get("/api/v1/products/search", params={"q": "kettle", "min_rating": 4})
    return [p["id"] for p in data(found)]


def _client(ctx: AppContext) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(ctx=ctx), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _moderator(client: httpx.AsyncClient, ctx: AppContext) -> dict[str, str]:
    from tests.inventory.factory import staff_headers

    return await staff_headers(client, ctx, email="mod2@example.com", role="moderator")
