"""Review requests: some days after an order is delivered, one e-mail (category ``review_request``) asking
the customer to review what they bought, linking to each product's review form.

The order's move to delivered adds a request row (one per order: the order id is unique) due
``reviews_request_after_days`` later; a periodic job sends the due ones. Each is claimed with a conditional
UPDATE in the transaction that queues its e-mail, so two runs, or a run retried, send it once. A request is
a promotional message: it goes only to a signed-in customer who accepts e-mail and turned promotional
messages on; otherwise it is marked skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.notify import Recipient, notify
from emporium.notifications.preferences import accepts, choices_of
from emporium.orders.schemas import OrderStatus
from emporium.orders.service import orders
from emporium.reviews.config import ReviewSettings
from emporium.reviews.repository import ReviewRepository

if TYPE_CHECKING:
    from emporium.orders.models import Order

CATEGORY = "review_request"
EVENT = "review.request"
BATCH = 200


async def on_order_moved(
    session: AsyncSession, settings: Settings, order: Order, previous: OrderStatus, actor: int | None
) -> None:
    """The order hook: a delivered order gets its review request, due some days later."""
    days = settings.part(ReviewSettings).reviews_request_after_days
    if order.status != OrderStatus.DELIVERED or days == 0:
        return
    await ReviewRepository(session).add_request(order.id, utcnow() + timedelta(days=days))


async def send_due(
    session: AsyncSession, settings: Settings, now: datetime, limit: int = BATCH
) -> tuple[int, int]:
    """Queue the e-mails of the requests due at ``now`` (at most ``limit`` requests); how many e-mails were
    queued, and how many requests were looked at (sent or skipped)."""
    repo = ReviewRepository(session)
    sent = 0
    due = await repo.due_requests(now, limit)
    for order_id in due:
        order = await orders.order(session, order_id)
        reason = await _skip_reason(repo, order)
        products = [] if order is None else await _products(session, repo, order)
        if reason is None and not products:
            reason = "no_products"
        if not await repo.claim_request(order_id, now, reason) or reason is not None:
            continue
        assert order is not None
        base = settings.public_url.rstrip("/")
        notify(
            session,
            EVENT,
            key=f"{EVENT}:{order.id}",
            recipients=[Recipient(user_id=order.user_id, email=order.contact_email)],
            context={
                "category": CATEGORY,
                "shop_name": settings.shop_name,
                "name": order.contact_name,
                "number": order.number,
                "products": [{"name": n, "url": f"{base}/p/{s}#write-review"} for n, s in products],
                "preferences_url": f"{base}/account/notifications",
            },
        )
        sent += 1
    return sent, len(due)


async def _skip_reason(repo: ReviewRepository, order: Order | None) -> str | None:
    if order is None:
        return "order_gone"
    if order.user_id is None:
        return "guest_order"
    if not await repo.active_customer(order.user_id) or not await wants(repo.session, order.user_id):
        return "not_wanted"
    return None


async def wants(session: AsyncSession, user_id: int) -> bool:
    """Whether the customer opted in to review requests by e-mail (promotional: off until chosen)."""
    return accepts(await choices_of(session, f"user:{user_id}"), CATEGORY, "email")


async def _products(session: AsyncSession, repo: ReviewRepository, order: Order) -> list[tuple[str, str]]:
    lines = await orders.lines(session, order)
    return await repo.products_named(sorted({line.product_id for line in lines}))
