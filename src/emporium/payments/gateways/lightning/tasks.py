"""The Lightning watcher: LND sends no webhooks, so open Lightning payments are looked up every few seconds.

Each open payment is asked about on its own, and its answer applied with the order row locked, exactly as a
webhook would be (``payments.apply``: idempotent, so two watchers or a watcher and ``/payments/confirm``
record one capture between them). The node is asked before the lock is taken, so no row stays locked
during a network call; the payment is re-read under the lock. A settlement that arrives after the order
was cancelled goes through ``apply``'s automatic refund, which asks staff to return Lightning money.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.payments.config import LightningSettings
from emporium.payments.fetch import fetch
from emporium.payments.gateways.base import GatewayError
from emporium.payments.gateways.lightning.gateway import NAME, LightningGateway, NodeUnavailable
from emporium.payments.models import PaymentState
from emporium.payments.service import payments

log = structlog.get_logger(__name__)

WATCH_JOB = "payments.watch_lightning"
WATCH_EVERY_SECONDS = 15
WATCH_BATCH = 100
OPEN_STATES = (PaymentState.REQUIRES_ACTION, PaymentState.PROCESSING)
# An invoice is decided on the first look after its expiry; one still open a day later (held, or settled
# short) is for staff to look into, not for the node to be asked about forever.
STOP_WATCHING_AFTER = timedelta(days=1)


async def watch_lightning(ctx: AppContext, *, limit: int = WATCH_BATCH) -> int:
    """Bring every open Lightning payment in line with the node; how many changed state."""
    settings = ctx.settings.part(LightningSettings)
    if not settings.lnd_rest_url:
        return 0
    # Built from the settings, not from the offered methods: invoices handed out before Lightning was
    # switched off can still be paid, and must still be recorded.
    gateway = LightningGateway(settings)
    async with ctx.db.session() as session:
        ids = await fetch.watched_payment_ids(
            session, [NAME], open_expiring_after=utcnow() - STOP_WATCHING_AFTER, limit=limit
        )
    changed = 0
    for payment_id in ids:
        async with ctx.db.session() as session:
            payment = await fetch.payment(session, payment_id)
            if payment is None or payment.state not in OPEN_STATES:
                continue
            try:
                result = await gateway.retrieve(session, payment.reference)
            except NodeUnavailable as exc:
                # Nothing is marked; the next run asks again.
                log.warning("lightning_node_unavailable", error=str(exc))
                break
            except GatewayError as exc:
                log.warning("lightning_invoice_lookup_failed", payment_id=payment_id, error=str(exc))
                continue
            order = await payments.lock_order(session, payment.order_id)
            payment = await fetch.payment(session, payment_id)
            if payment is None:
                continue
            before = payment.state
            await payments.apply(session, ctx.settings, order, payment, result)
            if payment.state != before:
                changed += 1
                log.info("lightning_payment_changed", payment_id=payment_id, state=payment.state)
    return changed


async def watch_lightning_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    """The periodic watcher's job (one attempt each, see install.py)."""
    await watch_lightning(ctx)
