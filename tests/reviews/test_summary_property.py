"""Property: whatever customers, moderators and erasures do, in whatever order, every product's summary
(per-star counts, count, average) and every review's vote counts equal a fresh recount from the rows.

Steps run through the services, each in a savepoint so a refused step (a second review, a vote on a hidden
review) changes nothing. On PostgreSQL the second test runs batches of steps in concurrent sessions.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import User
from emporium.accounts.privacy import scrub
from emporium.audit.schemas import Actor
from emporium.core.context import AppContext
from emporium.reviews import summary
from emporium.reviews.errors import ReviewError
from emporium.reviews.models import Review, ReviewVote
from emporium.reviews.moderation import moderation
from emporium.reviews.schemas import Moderation, ReviewCreate, ReviewUpdate
from emporium.reviews.service import reviews
from emporium.settings import AppSettings
from tests.conftest import MakeContext
from tests.inventory.factory import make_product

USERS, PRODUCTS = 4, 2
FIXTURES = [HealthCheck.function_scoped_fixture]
_serial = itertools.count(1)

user = st.integers(0, USERS - 1)
product = st.integers(0, PRODUCTS - 1)
stars = st.integers(1, 5)
step = st.one_of(
    st.tuples(st.just("write"), user, product, stars, st.sampled_from(["", "www.example.com", "bot"])),
    st.tuples(st.just("edit"), user, product, stars),
    st.tuples(st.just("moderate"), user, product, st.sampled_from(["approve", "reject", "spam"])),
    st.tuples(st.just("delete"), user, product),
    st.tuples(st.just("vote"), user, user, product, st.booleans()),
    st.tuples(st.just("report"), user, user, product),
    st.tuples(st.just("erase"), user),
)
SETTINGS = st.fixed_dictionaries(
    {"reviews_auto_publish": st.booleans(), "reviews_edits_moderated": st.booleans()}
)


class World:
    """The example's customers and products, and each review by (author index, product index)."""

    def __init__(self, settings: AppSettings, users: list[User], products: list[int]) -> None:
        self.settings = settings
        self.users = users
        self.products = products
        self.reviews: dict[tuple[int, int], int] = {}
        self.actor = Actor(None, "moderator@example.com")


async def open_world(session: AsyncSession, settings: AppSettings) -> World:
    n = next(_serial)
    users = [User(email=f"p{n}-{i}@example.com", first_name=f"P{i}", role="customer") for i in range(USERS)]
    session.add_all(users)
    made = [await make_product(session, f"Property kettle {n}-{i}") for i in range(PRODUCTS)]
    await session.flush()
    return World(settings, users, [m.product.id for m in made])


async def run_step(session: AsyncSession, world: World, action: tuple[Any, ...]) -> None:
    try:
        async with session.begin_nested():
            await _step(session, world, action)
    except ReviewError:
        pass


async def _step(session: AsyncSession, world: World, action: tuple[Any, ...]) -> None:
    kind, *args = action
    settings = world.settings
    if kind == "write":
        u, p, rating, extra = args
        body = ReviewCreate(
            rating=rating,
            title="t",
            body=extra if extra != "bot" else "",
            website="x" if extra == "bot" else "",
        )
        read = await reviews.write(session, settings, world.users[u].id, world.products[p], body, "10.0.0.1")
        world.reviews[(u, p)] = read.id
    elif kind == "erase":
        await scrub(session, world.users[args[0]])
        return
    # vote and report name the voter, then the review's author and product; the others author and product.
    review_id = world.reviews.get((args[1], args[2]) if kind in ("vote", "report") else (args[0], args[1]))
    if review_id is None:
        return
    me = world.users[args[0]].id
    if kind == "edit":
        await reviews.edit(session, settings, me, review_id, ReviewUpdate(rating=args[2], title="e"))
    elif kind == "moderate":
        await moderation.moderate_many(session, world.actor, [review_id], Moderation(action=args[2]))
    elif kind == "delete":
        await reviews.delete(session, me, review_id)
    elif kind == "vote":
        await reviews.vote(session, me, review_id, args[3])
    elif kind == "report":
        await reviews.report(session, settings, me, review_id, "bad")


async def check(session: AsyncSession) -> None:
    report = await summary.recompute(session, fix=False)
    assert report.drifted == []
    votes = dict(
        (
            await session.execute(
                select(
                    ReviewVote.review_id,
                    func.sum(func.cast(ReviewVote.helpful, type_=Review.helpful_count.type)),
                ).group_by(ReviewVote.review_id)
            )
        ).all()
    )
    for review_id, helpful, total in (
        await session.execute(
            select(Review.id, Review.helpful_count, Review.helpful_count + Review.not_helpful_count)
        )
    ).all():
        counted = (
            await session.execute(select(func.count()).where(ReviewVote.review_id == review_id))
        ).scalar_one()
        assert (helpful, total) == (int(votes.get(review_id) or 0), counted)


@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, min_size=1, max_size=30), options=SETTINGS)
async def test_every_summary_equals_a_recount(
    ctx: AppContext, settings: AppSettings, steps: list[tuple[Any, ...]], options: dict[str, bool]
) -> None:
    local = settings.model_copy(update={**options, "reviews_report_threshold": 2})
    async with ctx.db.sessionmaker() as session:
        world = await open_world(session, local)
        for action in steps:
            await run_step(session, world, action)
        await check(session)
        await session.rollback()


@pytest.mark.skipif(
    not os.environ.get("EMPORIUM_DATABASE_URL", "").startswith("postgresql"),
    reason="concurrent sessions need PostgreSQL (SQLite runs one writer at a time)",
)
@hypothesis_settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(step, min_size=2, max_size=8), min_size=1, max_size=4), options=SETTINGS)
async def test_concurrent_steps_keep_every_summary_equal_to_a_recount(
    make_committed_context: MakeContext, batches: list[list[tuple[Any, ...]]], options: dict[str, bool]
) -> None:
    ctx = make_committed_context(reviews_report_threshold=2, **options)
    async with ctx.db.session() as session:
        world = await open_world(session, ctx.settings)  # type: ignore[arg-type]
    for batch in batches:
        # Each step in its own transaction, all at once; a step may lose a race (and be refused).
        await asyncio.gather(*(_in_own_session(ctx, world, action) for action in batch))
    async with ctx.db.session() as session:
        await check(session)


async def _in_own_session(ctx: AppContext, world: World, action: tuple[Any, ...]) -> None:
    async with ctx.db.session() as session:
        if action[0] == "erase":
            user = await session.get(User, world.users[action[1]].id)
            assert user is not None
            await scrub(session, user)
            return
        await run_step(session, world, action)
