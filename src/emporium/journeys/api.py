"""Back-in-stock alerts through the API: a signed-in customer asks to hear when a sold-out option is back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from emporium.accounts.auth import SignedIn
from emporium.core.context import Ctx
from emporium.core.db import utcnow
from emporium.core.errors import errors_doc
from emporium.core.params import API_PREFIX, PLAIN_TEXT_PATTERN, IdPath
from emporium.core.responses import Envelope, ok
from emporium.core.session import DbSession
from emporium.journeys.alerts import stock_alerts
from emporium.journeys.schemas import StockAlertRead

router = APIRouter(prefix=API_PREFIX, tags=["stock alerts"])

SlugPath = Annotated[str, Path(min_length=1, max_length=220, pattern=PLAIN_TEXT_PATTERN)]


@router.post(
    "/products/{slug}/variants/{variant_id}/stock-alerts",
    status_code=status.HTTP_201_CREATED,
    responses=errors_doc(401, 404, 409, 422),
)
async def create_stock_alert(
    slug: SlugPath, variant_id: IdPath, ctx: Ctx, session: DbSession, principal: SignedIn
) -> Envelope[StockAlertRead]:
    """Tell me when this sold-out option is back (once; asking again changes nothing). 409 VARIANT_IN_STOCK
    when it can be bought now."""
    subscribed = await stock_alerts.subscribe(
        session, ctx.settings, variant_id, user_id=principal.user.id, email=None, now=utcnow(), slug=slug
    )
    alert = subscribed.alert
    read = StockAlertRead(
        id=alert.id,
        variant_id=alert.variant_id,
        active=alert.confirmed_at is not None,
        created_at=alert.created_at,
    )
    return ok(read, "We will tell you when it is back.")
