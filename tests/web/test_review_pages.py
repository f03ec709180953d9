"""The reviews on the product page: the summary and its per-star bars, sort, star filter and pages (an htmx
fragment, or a page without scripts), writing as the service allows (sign in, buyers only, one's own
review with its state), refused input shown in the form, votes and reports, hostile addresses, and
script in a review staying text in the page and in its JSON-LD."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from emporium.accounts.service import auth
from emporium.app import create_app
from emporium.audit.schemas import Actor
from emporium.core.context import AppContext
from emporium.reviews.moderation import moderation
from emporium.reviews.schemas import Moderation, ReviewCreate
from emporium.reviews.service import reviews
from tests.catalog.conftest import Shop
from tests.conftest import MakeContext
from tests.support import STRONG_PASSWORD, asgi_client, count_statements
from tests.web.conftest import csrf_token, token_of
from tests.web.test_account_pages import customer

JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)
REVIEW_TITLES = re.compile(r'<h3 class="review__title" id="review-\d+-title">([^<]*)</h3>')
MODERATOR = Actor(user_id=None, email="moderator@shop.test")
HTMX = {"HX-Request": "true"}
_people = itertools.count(1)


async def approved_review(
    ctx: AppContext,
    product_id: int,
    rating: int,
    title: str = "Nice",
    body: str = "Good.",
    *,
    name: str = "Rev",
) -> int:
    """A review by a new customer, approved by a moderator (through the services, as the API does)."""
    async with ctx.db.session() as session:
        user = await auth.create_user(
            session,
            ctx,
            email=f"reviewer{next(_people)}@example.com",
            password=STRONG_PASSWORD,
            role="customer",
            first_name=name,
            last_name="Smith",
        )
        written = await reviews.write(
            session,
            ctx.settings,
            user.id,
            product_id,
            ReviewCreate(rating=rating, title=title, body=body),
            None,
        )
        await moderation.moderate_many(session, MODERATOR, [written.id], Moderation(action="approve"))
    return written.id


async def approve(ctx: AppContext, review_id: int) -> None:
    async with ctx.db.session() as session:
        await moderation.moderate_many(session, MODERATOR, [review_id], Moderation(action="approve"))


@pytest.fixture
async def other_browser(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the same shop (its own cookies)."""
    async with asgi_client(create_app(ctx=ctx)) as browser:
        yield browser


def json_ld(html: str) -> dict[str, Any]:
    blocks = JSON_LD.findall(html)
    assert len(blocks) == 1
    assert "</" not in blocks[0]
    found: dict[str, Any] = json.loads(blocks[0])
    return found


def review_form(token: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": token, "rating": "", "title": "", "body": "", "website": "", **fields}


# Reading ----------------------------------------------------------------------------------------------------


async def test_the_product_page_shows_stars_distribution_and_the_first_page(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    fudge = await catalog.product("Rose Fudge")
    for rating, title in ((5, "Lovely"), (4, "Good"), (5, "Best fudge"), (2, "Too sweet")):
        await approved_review(ctx, fudge["id"], rating, title)
    html = (await client.get("/p/rose-fudge")).text
    # 16 / 4 = 4.0: eight half stars, said in words for screen readers.
    assert '<span class="stars stars--8" role="img" aria-label="Rated 4.0 out of 5"></span>' in html
    assert '<a href="#reviews">4 reviews</a>' in html
    assert "4 reviews" in html
    for star, count in ((5, 2), (4, 1), (3, 0), (2, 1), (1, 0)):
        assert f'<meter class="distribution__bar" min="0" max="4" value="{count}"' in html, star
    assert REVIEW_TITLES.findall(html) == ["Too sweet", "Best fudge", "Good", "Lovely"]  # newest first
    assert 'style="' not in html
    # A guest is asked to sign in, and brought back to the form; there is nothing to vote with.
    assert 'href="/account/sign-in?next=%2Fp%2Frose-fudge%23write-review"' in html
    assert "/vote" not in html
    assert "Report" not in html


async def test_cards_show_the_stars_from_the_list_row(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    sweets = await catalog.category("Sweets")
    fudge = await catalog.product("Rose Fudge", category_id=sweets["id"])
    await catalog.product("Plain Toffee", category_id=sweets["id"])
    for rating in (5, 4, 4):
        await approved_review(ctx, fudge["id"], rating)
    for path in ("/c/sweets", "/search?q=fudge", "/"):
        html = (await client.get(path)).text
        if path == "/" and "Rose Fudge" not in html:
            continue
        # 13 / 3 = 4.33: rounded to four and a half stars, the figure to one decimal.
        assert 'class="stars stars--9" role="img" aria-label="Rated 4.3 out of 5"' in html, path
        assert '4.3 <span class="rating-line__count">(3<span class="visually-hidden"> reviews</span>)' in html
    # The product nobody reviewed shows no stars at all.
    assert (await client.get("/c/sweets")).text.count('class="stars ') == 1


async def test_sort_filter_and_pages_by_fragment_and_without_scripts(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    fudge = await catalog.product("Rose Fudge")
    for n in range(12):
        await approved_review(ctx, fudge["id"], n % 5 + 1, f"Review {n}")
    fragment = await client.get("/p/rose-fudge/reviews?sort=lowest", headers=HTMX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<div class="reviews__list" id="reviews-list"')
    assert fragment.headers["Vary"] == "Cookie, HX-Request"
    lowest = REVIEW_TITLES.findall(fragment.text)
    assert len(lowest) == 10
    assert lowest[:3] == ["Review 10", "Review 5", "Review 0"]  # one star, newest first among equals
    second = await client.get("/p/rose-fudge/reviews?sort=lowest&page=2", headers=HTMX)
    assert REVIEW_TITLES.findall(second.text) == ["Review 9", "Review 4"]
    fives = await client.get("/p/rose-fudge/reviews?rating=5", headers=HTMX)
    assert REVIEW_TITLES.findall(fives.text) == ["Review 9", "Review 4"]
    assert '<option value="5" selected>' in fives.text
    # The links carry the sort and the filter; page 1 has no page parameter.
    assert 'href="/p/rose-fudge/reviews?sort=lowest&amp;page=2"' in fragment.text
    # Without scripts the same address is a page of its own, with the product's whole reviews block.
    page = await client.get("/p/rose-fudge/reviews?sort=highest")
    assert page.status_code == 200
    assert "<html" in page.text
    assert "Reviews of" in page.text
    assert page.headers["Vary"] == "Cookie, HX-Request"
    assert REVIEW_TITLES.findall(page.text)[:2] == ["Review 9", "Review 4"]
    assert '<link rel="canonical" href="http://shop.test/p/rose-fudge/reviews?sort=highest">' in page.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sort=evil", "That sort order does not exist"),
        ("rating=9", "filtered by 1 to 5 stars"),
        ("rating=0", "filtered by 1 to 5 stars"),
        ("rating=%3Cscript%3E", "filtered by 1 to 5 stars"),
        ("page=-1", "That page does not exist"),
        ("page=99999999999", "That page does not exist"),
        ("page=abc&sort=helpful", "That page does not exist"),
    ],
)
async def test_hostile_parameters_are_ignored_and_said_so(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext, query: str, message: str
) -> None:
    fudge = await catalog.product("Rose Fudge")
    await approved_review(ctx, fudge["id"], 4, "Only one")
    for headers in (HTMX, {}):
        response = await client.get(f"/p/rose-fudge/reviews?{query}", headers=headers)
        assert response.status_code == 200, response.text
        assert message in response.text
        assert REVIEW_TITLES.findall(response.text) == ["Only one"]
        assert "<script>" not in response.text


async def test_a_page_past_the_last_and_unknown_products(client: httpx.AsyncClient, catalog: Shop) -> None:
    await catalog.product("Rose Fudge")
    past = await client.get("/p/rose-fudge/reviews?page=40", headers=HTMX)
    assert past.status_code == 200
    assert "No reviews on this page" in past.text
    for path in ("/p/no-such-thing/reviews", "/p/BAD%20SLUG/reviews", "/p/" + "a" * 300 + "/reviews"):
        response = await client.get(path)
        assert response.status_code == 404
        assert 'class="error-page"' in response.text


# Writing ----------------------------------------------------------------------------------------------------


async def test_a_customer_writes_a_review_that_waits_for_a_moderator(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await catalog.product("Rose Fudge")
    _, token = await customer(client, "ada@example.com")
    page = (await client.get("/p/rose-fudge")).text
    assert (
        '<form class="review-form form" id="write-review" method="post" action="/p/rose-fudge/reviews"'
        in page
    )
    assert 'name="website"' in page
    fields = review_form(token, rating="4", title="Creamy", body="Rich and\nsmooth.")
    response = await client.post("/p/rose-fudge/reviews", data=fields)
    assert response.status_code == 303
    assert response.headers["location"] == "/p/rose-fudge?review=pending#reviews"
    after = (await client.get("/p/rose-fudge?review=pending")).text
    assert "Your review will appear once a moderator has approved it." in after
    assert "You reviewed this product" in after
    assert "Awaiting moderation" in after
    assert 'id="write-review"' not in after
    assert "Edit your review" in after
    assert "Delete your review" in after
    # Not shown to others until approved.
    assert REVIEW_TITLES.findall(after) == []
    # Writing again is refused by the service, told in the form.
    again = await client.post("/p/rose-fudge/reviews", data=fields)
    assert again.status_code == 409
    assert "You have reviewed this product." in again.text


async def test_with_auto_publish_the_review_is_published_at_once(make_context: MakeContext) -> None:
    ctx = make_context(reviews_auto_publish=True)
    async with asgi_client(create_app(ctx=ctx)) as client:
        shop_staff = await _shop(client, ctx)
        await shop_staff.product("Rose Fudge")
        _, token = await customer(client, "ada@example.com")
        response = await client.post(
            "/p/rose-fudge/reviews", data=review_form(token, rating="5", title="Superb", body="Yes.")
        )
        assert response.headers["location"] == "/p/rose-fudge?review=published#reviews"
        page = (await client.get(response.headers["location"].split("#")[0])).text
        assert "Your review is published." in page
        assert REVIEW_TITLES.findall(page) == ["Superb"]
        assert "Published" in page
        assert 'aria-label="Rated 5.0 out of 5"' in page
        # One's own review has no vote or report buttons.
        assert "/vote" not in page
        assert "Report" not in page


async def _shop(client: httpx.AsyncClient, ctx: AppContext) -> Shop:
    from tests.catalog.conftest import staff_headers

    return Shop(client, await staff_headers(client, ctx, "catalog-admin@shop.test", "admin"))


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"rating": "", "body": "Fine."}, "rating", "Choose how many stars you give, from 1 to 5."),
        ({"rating": "6", "body": "Fine."}, "rating", "Choose how many stars you give, from 1 to 5."),
        ({"rating": "true", "body": "Fine."}, "rating", "Choose how many stars you give, from 1 to 5."),
        ({"rating": "3", "body": ""}, "body", "Write a few words about the product."),
        ({"rating": "3", "body": "x" * 5001}, "body", "Keep your review under 5,000 characters."),
        (
            {"rating": "3", "title": "t" * 121, "body": "Fine."},
            "title",
            "Keep the title under 120 characters",
        ),
        ({"rating": "3", "title": "bell\x07", "body": "Fine."}, "title", "Write the title on one line"),
    ],
)
async def test_bad_input_comes_back_in_the_form_with_reasons(
    client: httpx.AsyncClient, catalog: Shop, fields: dict[str, str], field: str, message: str
) -> None:
    await catalog.product("Rose Fudge")
    _, token = await customer(client, "ada@example.com")
    response = await client.post("/p/rose-fudge/reviews", data=review_form(token, **fields))
    assert response.status_code == 422, response.text
    html = response.text
    assert f'<p class="field__error" id="write-review-{field}-error">{message}' in html
    assert 'id="write-review"' in html
    if fields.get("body") and len(fields["body"]) < 100:
        assert f">{fields['body']}</textarea>" in html  # what was typed is kept
    assert "Customer reviews" in html


async def test_a_form_without_its_token_is_refused(client: httpx.AsyncClient, catalog: Shop) -> None:
    await catalog.product("Rose Fudge")
    await customer(client, "ada@example.com")
    response = await client.post("/p/rose-fudge/reviews", data={"rating": "5", "body": "Hi"})
    assert response.status_code == 403


async def test_a_guest_posting_is_sent_to_sign_in(client: httpx.AsyncClient, catalog: Shop) -> None:
    await catalog.product("Rose Fudge")
    token = await token_of(client, "/p/rose-fudge")
    response = await client.post("/p/rose-fudge/reviews", data=review_form(token, rating="5", body="Hi"))
    assert response.status_code == 303
    assert response.headers["location"] == "/account/sign-in?next=%2Fp%2Frose-fudge%23write-review"


async def test_buyers_only_shops_say_so(make_context: MakeContext) -> None:
    ctx = make_context(reviews_buyers_only=True)
    async with asgi_client(create_app(ctx=ctx)) as client:
        await (await _shop(client, ctx)).product("Rose Fudge")
        _, token = await customer(client, "ada@example.com")
        page = (await client.get("/p/rose-fudge")).text
        assert "Only customers who bought this product can review it" in page
        assert 'id="write-review"' not in page
        response = await client.post("/p/rose-fudge/reviews", data=review_form(token, rating="5", body="Hi"))
        assert response.status_code == 403
        assert "Only customers who bought this product can review it." in response.text


async def test_the_honeypot_keeps_a_review_out_of_the_page(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await catalog.product("Rose Fudge")
    _, token = await customer(client, "ada@example.com")
    fields = review_form(
        token, rating="5", title="Buy now", body="Cheap pills", website="http://spam.example"
    )
    response = await client.post("/p/rose-fudge/reviews", data=fields)
    assert response.status_code == 303
    page = (await client.get("/p/rose-fudge")).text
    assert REVIEW_TITLES.findall(page) == []
    assert "Not published" in page


async def test_editing_and_deleting_ones_own_review(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    fudge = await catalog.product("Rose Fudge")
    _, token = await customer(client, "ada@example.com")
    await client.post("/p/rose-fudge/reviews", data=review_form(token, rating="2", title="Meh", body="Dry."))
    page = (await client.get("/p/rose-fudge")).text
    review_id = int(re.search(r'action="/p/rose-fudge/reviews/(\d+)/edit"', page).group(1))  # type: ignore[union-attr]
    await approve(ctx, review_id)
    assert 'aria-label="Rated 2.0 out of 5"' in (await client.get("/p/rose-fudge")).text
    refused = await client.post(
        f"/p/rose-fudge/reviews/{review_id}/edit", data=review_form(token, rating="9", body="Better.")
    )
    assert refused.status_code == 422
    assert '<details class="reviews__edit" open>' in refused.text
    assert 'id="edit-review-rating-error"' in refused.text
    edited = await client.post(
        f"/p/rose-fudge/reviews/{review_id}/edit", data=review_form(token, rating="4", body="Better now.")
    )
    assert edited.headers["location"] == "/p/rose-fudge?review=pending#reviews"
    page = (await client.get("/p/rose-fudge")).text
    assert "Better now." in page
    assert "Awaiting moderation" in page
    assert "No reviews yet" in page  # the edit waits for a moderator again
    # Another customer cannot touch it: not found.
    async with asgi_client(create_app(ctx=ctx)) as other:
        _, other_token = await customer(other, "bob@example.com")
        stolen = await other.post(
            f"/p/rose-fudge/reviews/{review_id}/delete", data={"csrf_token": other_token}
        )
        assert stolen.status_code == 404
    deleted = await client.post(f"/p/rose-fudge/reviews/{review_id}/delete", data={"csrf_token": token})
    assert deleted.headers["location"] == "/p/rose-fudge?review=deleted#reviews"
    page = (await client.get("/p/rose-fudge?review=deleted")).text
    assert "Your review was deleted." in page
    assert 'id="write-review"' in page
    assert fudge["slug"] == "rose-fudge"


# Votes and reports ------------------------------------------------------------------------------------------


async def test_votes_by_htmx_with_the_csrf_header(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    fudge = await catalog.product("Rose Fudge")
    review_id = await approved_review(ctx, fudge["id"], 5, "Helpful one")
    await customer(other_browser, "voter@example.com")
    page = (await other_browser.get("/p/rose-fudge")).text
    token = csrf_token(page)
    assert f'hx-post="/p/rose-fudge/reviews/{review_id}/vote"' in page
    url = f"/p/rose-fudge/reviews/{review_id}/vote"
    headers = {**HTMX, "X-CSRF-Token": token}
    voted = await other_browser.post(url, data={"helpful": "1"}, headers=headers)
    assert voted.status_code == 200, voted.text
    assert voted.text.lstrip().startswith(f'<div class="review__votes" id="votes-{review_id}">')
    assert 'Yes <span class="review__vote-count">(1)</span>' in voted.text
    assert 'No <span class="review__vote-count">(0)</span>' in voted.text
    changed = await other_browser.post(url, data={"helpful": "0"}, headers=headers)
    assert 'Yes <span class="review__vote-count">(0)</span>' in changed.text
    assert 'No <span class="review__vote-count">(1)</span>' in changed.text
    # Without the token: refused before anything runs.
    assert (await other_browser.post(url, data={"helpful": "1"}, headers=HTMX)).status_code == 403
    # Nonsense is a 4xx page, not an error.
    bad = await other_browser.post(url, data={"helpful": "maybe"}, headers=headers)
    assert bad.status_code == 422
    # Without scripts the form posts and the product page is shown again.
    plain = await other_browser.post(url, data={"helpful": "1", "csrf_token": token})
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/p/rose-fudge#review-{review_id}"
    # A guest is sent to sign in (htmx is told where).
    guest_token = await token_of(client, "/p/rose-fudge")
    guest = await client.post(url, data={"helpful": "1"}, headers={**HTMX, "X-CSRF-Token": guest_token})
    assert guest.headers["HX-Redirect"].startswith("/account/sign-in?next=")


async def test_nobody_votes_on_or_reports_their_own_review(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await catalog.product("Rose Fudge")
    _, token = await customer(client, "ada@example.com")
    await client.post("/p/rose-fudge/reviews", data=review_form(token, rating="5", body="Mine."))
    page = (await client.get("/p/rose-fudge")).text
    review_id = int(re.search(r'action="/p/rose-fudge/reviews/(\d+)/edit"', page).group(1))  # type: ignore[union-attr]
    await approve(ctx, review_id)
    page = (await client.get("/p/rose-fudge")).text
    assert f"/reviews/{review_id}/vote" not in page
    headers = {**HTMX, "X-CSRF-Token": token}
    vote = await client.post(
        f"/p/rose-fudge/reviews/{review_id}/vote", data={"helpful": "1"}, headers=headers
    )
    assert vote.status_code == 409
    assert "You cannot vote on your own review." in vote.text
    report = await client.post(
        f"/p/rose-fudge/reviews/{review_id}/report", data={"reason": "Spam or advertising"}, headers=headers
    )
    assert report.status_code == 409


async def test_a_report_is_thanked(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    fudge = await catalog.product("Rose Fudge")
    review_id = await approved_review(ctx, fudge["id"], 1, "Rude words")
    _, token = await customer(other_browser, "reader@example.com")
    page = (await other_browser.get("/p/rose-fudge")).text
    assert f'<details class="review__report" id="report-{review_id}">' in page
    url = f"/p/rose-fudge/reviews/{review_id}/report"
    reported = await other_browser.post(
        url, data={"reason": "Rude, hateful or offensive"}, headers={**HTMX, "X-CSRF-Token": token}
    )
    assert reported.status_code == 200
    assert f'<p class="review__reported" id="report-{review_id}" role="status">' in reported.text
    assert "A moderator will look at this review." in reported.text
    plain = await other_browser.post(url, data={"reason": "Something else", "csrf_token": token})
    assert plain.headers["location"] == f"/p/rose-fudge?review=reported#review-{review_id}"
    after = (await other_browser.get("/p/rose-fudge?review=reported")).text
    assert "Thank you for telling us." in after
    missing = await other_browser.post(
        "/p/rose-fudge/reviews/999999/report", data={"reason": "x", "csrf_token": token}
    )
    assert missing.status_code == 404


# Script in reviews ----------------------------------------------------------------------------------------

TITLE = '<script>alert("t")</script></script>'
BODY = '</script><img src=x onerror=alert(1)>\u2028<!-- & "quotes"'


async def test_script_in_a_review_is_text_in_the_page_and_in_the_json_ld(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    fudge = await catalog.product("Rose Fudge")
    await approved_review(ctx, fudge["id"], 4, TITLE, BODY, name='<b onmouseover="x">Eve</b>')
    html = (await client.get("/p/rose-fudge")).text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b onmouseover" not in html
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;&lt;/script&gt;" in html
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    data = json_ld(html)
    assert data["aggregateRating"] == {"@type": "AggregateRating", "ratingValue": "4.00", "reviewCount": 1}
    [review] = data["review"]
    assert review["name"] == TITLE
    assert review["reviewBody"] == BODY
    assert review["author"] == {"@type": "Person", "name": '<b onmouseover="x">Eve</b> S.'}
    assert review["reviewRating"]["ratingValue"] == 4
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", review["datePublished"])
    fragment = (await client.get("/p/rose-fudge/reviews?sort=lowest", headers=HTMX)).text
    assert "<script>alert" not in fragment
    assert "<img src=x" not in fragment


async def test_json_ld_has_at_most_five_reviews_and_none_without(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    fudge = await catalog.product("Rose Fudge")
    toffee = await catalog.product("Plain Toffee")
    empty = json_ld((await client.get("/p/plain-toffee")).text)
    assert "aggregateRating" not in empty
    assert "review" not in empty
    for n in range(7):
        await approved_review(ctx, fudge["id"], 5 if n % 2 else 4, f"Review {n}")
    data = json_ld((await client.get("/p/rose-fudge")).text)
    assert data["aggregateRating"]["reviewCount"] == 7
    assert data["aggregateRating"]["ratingValue"] == "4.43"
    assert [r["name"] for r in data["review"]] == ["Review 6", "Review 5", "Review 4", "Review 3", "Review 2"]
    # A review without a title has no name in the JSON-LD; its heading names the author for screen readers.
    await approved_review(ctx, toffee["id"], 3, "", "Just fine.", name="Quinn")
    html = (await client.get("/p/plain-toffee")).text
    [untitled] = json_ld(html)["review"]
    assert "name" not in untitled
    assert untitled["reviewBody"] == "Just fine."
    assert '<span class="visually-hidden">Review by Quinn S.</span></h3>' in html


# The rating facet -------------------------------------------------------------------------------------------


async def test_the_four_stars_facet_reads_the_reviews(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    sweets = await catalog.category("Sweets")
    fudge = await catalog.product("Rose Fudge", category_id=sweets["id"])
    toffee = await catalog.product("Plain Toffee", category_id=sweets["id"])
    await approved_review(ctx, fudge["id"], 5)
    await approved_review(ctx, fudge["id"], 4)
    await approved_review(ctx, toffee["id"], 3)
    listed = (await client.get("/c/sweets?rating=4")).text
    assert '/p/rose-fudge"' in listed
    assert '/p/plain-toffee"' not in listed
    searched = (await client.get("/search?q=sweets&rating=4")).text + (
        await client.get("/search?q=fudge&rating=4")
    ).text
    assert '/p/rose-fudge"' in searched


async def test_a_signed_in_customers_product_page_adds_what_they_may_do(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    fudge = await catalog.product("Rose Fudge")
    for n in range(12):
        await approved_review(ctx, fudge["id"], n % 5 + 1, f"Review {n}")
    await customer(client, "ada@example.com")
    with count_statements(ctx.db.engine) as statements:
        html = (await client.get("/p/rose-fudge")).text
    assert 'id="write-review"' in html
    assert html.count('<article class="review"') == 10
    # A guest's seven (tests/web/test_catalog_pages.py), the session, and eligibility: the customer's own
    # review of the product and whether they bought it.
    assert len(statements) <= 10, statements
