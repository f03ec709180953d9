"""Crypto payment routes: seed 001's payment notices, and the refunds staff send back by hand.

``POST /api/v1/webhooks/payment`` takes seed 001's notice::

    {"event": "payment.confirmed",
     "data": {"orderId": "ORD-2026-000123", "transactionHash": "<txid>", "amount": 0.001, "confirmations": 6}}

signed with HMAC-SHA256 of the raw body (hex, header ``X-Signature``, secret ``crypto_webhook_secret``).
It is verified before it is read, stored once per event and transaction, and only makes the shop ask the
node about the order's payments (a job): a notice claiming coins the node does not confirm changes nothing.

``POST /api/v1/payments/crypto/refunds`` records coins staff sent back from the shop's wallet, by their
transaction id (checked with the node); the same transaction is recorded once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from emporium.core.context import Ctx
from emporium.core.errors import NotFound, errors_doc
from emporium.core.jobs import enqueue
from emporium.core.money import to_minor_units
from emporium.core.params import API_PREFIX, MAX_ID
from emporium.core.responses import Envelope, ok
from emporium.core.schemas import InputModel
from emporium.core.session import DbSession
from emporium.orders.errors import OrderError
from emporium.orders.service import orders
from emporium.payments.api import transaction_read
from emporium.payments.auth import Refunder
from emporium.payments.card_data import refuse_card_data
from emporium.payments.config import ChainSettings
from emporium.payments.fetch import fetch
from emporium.payments.gateways.bitcoin.gateway import CHAIN_GATEWAYS, MANUAL_REFUND_PREFIX
from emporium.payments.gateways.bitcoin.tasks import NOTICE_JOB
from emporium.payments.schemas import Amount, Id, Reason, TransactionRead
from emporium.payments.service import PaymentNotPossible, payments
from emporium.payments.webhooks import WebhookRefused, store_event

if TYPE_CHECKING:
    from emporium.orders.models import Order

router = APIRouter(prefix=API_PREFIX, tags=["payments"])

SIGNATURE_HEADER = "X-Signature"
# The ``gateway`` under which notices are stored in webhook_events (deduplicated per event id).
NOTICE_SOURCE = "crypto_notice"
MAX_NOTICE_BYTES = 16 * 1024
ORDER_REF = r"^(ORD-\d{4}-\d{1,12}|\d{1,18})$"
TX_HASH = r"^(0x)?[0-9a-fA-F]{64}$"


class NoticeData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: Annotated[str, StringConstraints(pattern=ORDER_REF)] | Id = Field(alias="orderId")
    transaction_hash: Annotated[str, StringConstraints(pattern=TX_HASH)] = Field(alias="transactionHash")
    # What the sender says arrived: kept with the notice, never believed (the node is asked).
    amount: Decimal | None = None
    confirmations: int | None = Field(default=None, ge=0, le=10_000_000)


class Notice(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_.]{0,59}$")]
    data: NoticeData


class CryptoRefundIn(InputModel):
    order_id: Id
    # In the shop currency; all that is refundable when left out.
    amount: Amount | None = None
    txid: Annotated[
        str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[0-9a-fA-F]{64}$")
    ]
    reason: Reason | None = None


def verify_signature(body: bytes, header: str | None, secret: str | None) -> None:
    if not secret:
        raise WebhookRefused("Crypto payment notices are not enabled.")
    if not header:
        raise WebhookRefused("The notice is not signed.")
    given = header.strip().lower().removeprefix("sha256=")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise WebhookRefused("The notice's signature does not match.")


def parse_notice(body: bytes) -> tuple[Notice, dict[str, Any]]:
    try:
        # Amounts stay exact decimals; the raw notice is kept with strings for them.
        value = json.loads(body, parse_float=Decimal)
        notice = Notice.model_validate(value)
    except (ValueError, ValidationError) as exc:
        raise WebhookRefused("The notice is not a payment notice.") from exc
    data = notice.data
    stored = {
        "event": notice.event,
        "data": {
            "orderId": str(data.order_id),
            "transactionHash": data.transaction_hash,
            "amount": format(data.amount, "f") if data.amount is not None else None,
            "confirmations": data.confirmations,
        },
    }
    return notice, stored


async def _order_of(session: DbSession, reference: str | int) -> Order | None:
    if isinstance(reference, int) or reference.isdigit():
        number = int(reference)
        return await orders.order(session, number) if 0 < number <= MAX_ID else None
    return await orders.order_by_number(session, reference)


@router.post("/webhooks/payment", responses=errors_doc(400, 404))
async def crypto_notice(request: Request, ctx: Ctx, session: DbSession) -> Envelope[dict[str, bool]]:
    """Seed 001's crypto payment notice: verified, stored once, then the node is asked (a job)."""
    body = await request.body()
    if len(body) > MAX_NOTICE_BYTES:
        raise WebhookRefused("The notice is too large.")
    secret = ctx.settings.part(ChainSettings).crypto_webhook_secret
    verify_signature(
        body, request.headers.get(SIGNATURE_HEADER), secret.get_secret_value() if secret else None
    )
    notice, stored = parse_notice(body)
    order = await _order_of(session, notice.data.order_id)
    if order is None or order.payment_method not in CHAIN_GATEWAYS:
        raise NotFound("No crypto payment of such an order.", code=OrderError.ORDER_NOT_FOUND)
    txid = notice.data.transaction_hash.lower().removeprefix("0x")
    event_id = f"{notice.event}:{txid}"
    row = await store_event(session, NOTICE_SOURCE, event_id, notice.event, stored)
    if row is None:
        return ok({"received": True, "duplicate": True})
    enqueue(session, NOTICE_JOB, {"event_row_id": row, "order_id": order.id})
    return ok({"received": True, "duplicate": False})


@router.post(
    "/payments/crypto/refunds",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(refuse_card_data)],
    responses=errors_doc(401, 403, 404, 409, 422),
)
async def record_crypto_refund(
    data: CryptoRefundIn, ctx: Ctx, session: DbSession, staff: Refunder
) -> Envelope[TransactionRead]:
    """Staff with refunds:create record coins they sent back from the shop's wallet. The node must know the
    transaction as a send; one transaction is one refund (repeating it returns the same one)."""
    order = await payments.lock_order(session, data.order_id)
    paid = next(iter(await fetch.refundable_payments(session, order.id)), None)
    if paid is None or paid.gateway not in CHAIN_GATEWAYS:
        raise PaymentNotPossible("This order has no crypto payment to refund.")
    if await fetch.refund_reference_used_elsewhere(session, sorted(CHAIN_GATEWAYS), data.txid, order.id):
        raise PaymentNotPossible("This transaction is already recorded as the refund of another order.")
    amount = to_minor_units(data.amount, order.currency, "amount") if data.amount is not None else None
    tx = await payments.refund(
        session,
        ctx.settings,
        order,
        amount_minor=amount,
        reason=data.reason or f"Coins sent back by hand in transaction {data.txid}.",
        idempotency_key=f"{MANUAL_REFUND_PREFIX}{data.txid}",
        actor_user_id=staff.id,
    )
    return ok(
        transaction_read(tx),
        "Refund recorded.",
    )
