"""The product page's one-statement read of a product's first reviews answers exactly what the service's
page 1 of the newest answers: the same reviews in the same order, the same pagination and summary, through
approvals, rejections, an edit back to moderation and a deletion."""

from __future__ import annotations

from emporium.accounts.service import auth
from emporium.audit.schemas import Actor
from emporium.core.context import AppContext
from emporium.reviews.moderation import moderation
from emporium.reviews.schemas import Moderation, ReviewCreate, ReviewUpdate
from emporium.reviews.service import reviews
from emporium.reviews.showcase import showcase
from tests.inventory.factory import Made
from tests.support import STRONG_PASSWORD, count_statements

MODERATOR = Actor(user_id=None, email="moderator@example.com")


async def _same(ctx: AppContext, product_id: int, viewer: int | None, limit: int) -> int:
    async with ctx.db.session() as session:
        expected = await reviews.page_for_product(session, product_id, viewer_id=viewer, limit=limit)
        with count_statements(ctx.db.engine) as statements:
            found = await showcase.first_page(session, product_id, viewer_id=viewer, limit=limit)
    assert len(statements) == 1, statements
    assert found == expected
    return found.summary.count


async def test_the_first_page_in_one_statement_is_the_services_first_page(
    ctx: AppContext, product: Made
) -> None:
    pid = product.product.id
    assert await _same(ctx, pid, None, 3) == 0  # never reviewed: no summary row yet
    async with ctx.db.session() as session:
        users = [
            (
                await auth.create_user(
                    session,
                    ctx,
                    email=f"s{n}@example.com",
                    password=STRONG_PASSWORD,
                    role="customer",
                    first_name=f"S{n}",
                )
            ).id
            for n in range(6)
        ]
        written = [
            (
                await reviews.write(
                    session,
                    ctx.settings,
                    user,
                    pid,
                    ReviewCreate(rating=n % 5 + 1, title=f"T{n}", body="B"),
                    None,
                )
            ).id
            for n, user in enumerate(users)
        ]
    assert await _same(ctx, pid, users[0], 3) == 0  # all pending: nothing shown, the row says zero
    async with ctx.db.session() as session:
        await moderation.moderate_many(session, MODERATOR, written[:5], Moderation(action="approve"))
        await moderation.moderate_many(session, MODERATOR, written[5:], Moderation(action="reject"))
    for viewer in (None, users[0], users[5]):
        assert await _same(ctx, pid, viewer, 3) == 5
    assert await _same(ctx, pid, None, 10) == 5
    async with ctx.db.session() as session:
        await reviews.edit(
            session, ctx.settings, users[1], written[1], ReviewUpdate(rating=1, title="x", body="y")
        )
        await reviews.delete(session, users[2], written[2])
    assert await _same(ctx, pid, users[1], 3) == 3
