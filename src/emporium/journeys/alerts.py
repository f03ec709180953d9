"""Back in stock: "Notify me" on a sold-out variant, and the alerts sent when it comes back.

A customer's alert is active at once; a guest's becomes active only when the link sent to the e-mail they
typed is opened (``stock.alert_confirm``), so nobody can sign someone else up. When the variant comes back
(an edge, see edges.py) a job sends at most ``back_in_stock_per_unit`` alerts per unit available then,
oldest first, each alert once (marked as it is taken, so two jobs never send one alert twice); the rest wait
for the next edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import ProductStatus
from emporium.core.config import Settings
from emporium.core.notify import Recipient, notify
from emporium.inventory.availability import units_available
from emporium.journeys import edges, links
from emporium.journeys.config import JourneySettings
from emporium.journeys.errors import AlertGone, LinkExpired, LinkInvalid, VariantInStock, VariantNotFound
from emporium.journeys.models import StockAlert
from emporium.journeys.repository import JourneyRepository
from emporium.journeys.unsubscribe import email_facts

CONFIRM_EVENT = "stock.alert_confirm"
ALERT_EVENT = "stock.back_in_stock"
CONFIRM_PURPOSE = "stock-alert-confirm"


@dataclass(frozen=True)
class BackInStockEdge:
    """A variant came back with ``units`` available at ``edge_at`` (edges.py)."""

    variant_id: int
    units: int
    edge_at: datetime


@dataclass(frozen=True)
class Subscribed:
    alert: StockAlert
    confirmation_sent: bool


def _product_url(settings: Settings, slug: str) -> str:
    return f"{settings.public_url.rstrip('/')}/p/{slug}"


def _name(product: str, variant: str) -> str:
    return product if product == variant else f"{product} ({variant})"


class StockAlerts:
    async def subscribe(
        self,
        session: AsyncSession,
        settings: Settings,
        variant_id: int,
        *,
        user_id: int | None,
        email: str | None,
        now: datetime,
        slug: str | None = None,
    ) -> Subscribed:
        """Ask to be told when a sold-out variant is back (of the product ``slug`` when given)."""
        found = await JourneyRepository(session).variant(variant_id)
        if found is None:
            raise VariantNotFound()
        variant, product, pool = found
        if (slug is not None and product.slug != slug) or product.status != ProductStatus.ACTIVE:
            raise VariantNotFound()
        if not variant.is_active:
            raise VariantNotFound()
        if units_available(pool.on_hand, pool.reserved, variant.draw_per_unit) > 0:
            raise VariantInStock()
        await edges.observe(session, [pool.id])
        alert = await JourneyRepository(session).add_alert(
            variant_id,
            user_id=user_id,
            email=None if user_id is not None else (email or "").strip().lower(),
            locale=None,
            confirmed=user_id is not None,
        )
        if alert.confirmed_at is not None:
            return Subscribed(alert, False)
        hours = settings.part(JourneySettings).back_in_stock_confirm_ttl_hours
        token = links.make(settings, CONFIRM_PURPOSE, "alert", alert.id, now + timedelta(hours=hours))
        link = f"{settings.public_url.rstrip('/')}/stock-alerts/confirm/{token}"
        notify(
            session,
            CONFIRM_EVENT,
            key=f"{CONFIRM_EVENT}:{alert.id}:{int(alert.created_at.timestamp())}",
            recipients=[Recipient(email=alert.email)],
            context={
                "shop_name": settings.shop_name,
                "product_name": _name(product.name, variant.name),
                "confirm_url": link,
                "product_url": _product_url(settings, product.slug),
            },
            link=link,
        )
        return Subscribed(alert, True)

    async def confirm(
        self, session: AsyncSession, settings: Settings, token: str, now: datetime
    ) -> StockAlert:
        """Open a guest's confirmation link: the alert becomes active (again, harmlessly)."""
        try:
            link = links.read(settings, CONFIRM_PURPOSE, token, now)
        except links.ExpiredLink as exc:
            raise LinkExpired() from exc
        except links.BadLink as exc:
            raise LinkInvalid() from exc
        alert = await JourneyRepository(session).alert(link.id)
        if alert is None:
            raise AlertGone()
        if alert.confirmed_at is None:
            alert.confirmed_at = now
            await session.flush()
        return alert

    async def send_back_in_stock(
        self, session: AsyncSession, settings: Settings, edge: BackInStockEdge, now: datetime
    ) -> int:
        """Send the edge's batch of the variant's waiting alerts: a few per unit that came back (fewer if
        fewer are left now), less what this edge sent already; how many were sent."""
        repo = JourneyRepository(session)
        found = await repo.variant(edge.variant_id)
        if found is None:
            return 0
        variant, product, pool = found
        units = min(edge.units, units_available(pool.on_hand, pool.reserved, variant.draw_per_unit))
        if units <= 0 or not variant.is_active or product.status != ProductStatus.ACTIVE:
            return 0
        per_unit = settings.part(JourneySettings).back_in_stock_per_unit
        room = per_unit * units - await repo.count_notified_since(edge.variant_id, edge.edge_at)
        taken = await repo.take_pending_alerts(edge.variant_id, room, now) if room > 0 else []
        url = _product_url(settings, product.slug)
        for alert in taken:
            recipient = Recipient(user_id=alert.user_id) if alert.user_id else Recipient(email=alert.email)
            kind, row_id = ("au", alert.user_id) if alert.user_id else ("ag", alert.id)
            notify(
                session,
                ALERT_EVENT,
                key=f"{ALERT_EVENT}:{alert.id}:{int(alert.created_at.timestamp())}",
                recipients=[recipient],
                context={
                    "shop_name": settings.shop_name,
                    "product_name": _name(product.name, variant.name),
                    "product_url": url,
                    "available": str(units),
                    **email_facts(settings, kind, row_id, now),
                },
                link=url,
            )
        return len(taken)


stock_alerts = StockAlerts()
