"""Razorpay's own routes (seed 003): the Checkout callback the browser forwards, and Razorpay's webhook."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, StringConstraints

from emporium.accounts.auth import MaybePrincipal
from emporium.core.context import Ctx
from emporium.core.errors import BadRequest, errors_doc
from emporium.core.idempotency import IdempotencyKeyHeader
from emporium.core.params import API_PREFIX
from emporium.core.responses import Envelope, ok
from emporium.core.schemas import InputModel
from emporium.core.session import DbSession
from emporium.orders.auth import OrderToken
from emporium.payments.auth import reachable_order
from emporium.payments.card_data import refuse_card_data
from emporium.payments.errors import PaymentError
from emporium.payments.fetch import fetch
from emporium.payments.gateways.base import GatewayError
from emporium.payments.gateways.razorpay.gateway import NAME, RazorpayGateway, RazorpayRefused
from emporium.payments.gateways.registry import gateway as gateway_named
from emporium.payments.models import Payment, PaymentState
from emporium.payments.schemas import Id
from emporium.payments.service import PaymentNotPossible, payments
from emporium.payments.webhooks import receive

router = APIRouter(prefix=API_PREFIX, tags=["payments"])

RazorpayOrderId = Annotated[str, StringConstraints(pattern=r"^order_[A-Za-z0-9]{6,40}$")]
RazorpayPaymentId = Annotated[str, StringConstraints(pattern=r"^pay_[A-Za-z0-9]{6,40}$")]
Signature = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]


class VerifyIn(InputModel):
    """What Razorpay Checkout's handler gives the browser, and which of our orders it paid."""

    order_id: Id
    razorpay_order_id: RazorpayOrderId
    razorpay_payment_id: RazorpayPaymentId
    razorpay_signature: Signature


class VerifiedRead(BaseModel):
    order_id: int
    status: str
    payment_status: str
    payment_id: int
    payment_state: str
    error: str | None


class VerificationFailed(BadRequest):
    code = PaymentError.PAYMENT_VERIFICATION_FAILED
    message = "The payment could not be verified."


def _signed_payment(gateway: RazorpayGateway, candidates: list[Payment], data: VerifyIn) -> Payment | None:
    """The order's Razorpay payment whose stored Razorpay order id the signature was made for: the id the
    browser sends is never trusted on its own, so a callback of another order cannot pay this one."""
    for payment in candidates:
        if gateway.checkout_signature_valid(
            payment.reference, data.razorpay_payment_id, data.razorpay_signature
        ):
            return payment if payment.reference == data.razorpay_order_id else None
    return None


@router.post(
    "/orders/verify-payment",
    dependencies=[Depends(refuse_card_data)],
    responses=errors_doc(400, 401, 404, 409, 422),
)
async def verify_payment(
    data: VerifyIn,
    ctx: Ctx,
    session: DbSession,
    principal: MaybePrincipal,
    idempotency_key: IdempotencyKeyHeader,
    token: OrderToken = None,
) -> Envelope[VerifiedRead]:
    """Razorpay Checkout's success callback, forwarded by the browser: the signature is checked against
    the Razorpay order this shop created, then Razorpay is asked what became of the payment (an authorized
    one is captured). Safe to repeat: a payment is captured and recorded once."""
    # The caller's order, locked, as the other payment routes reach it (a guest by its X-Order-Token).
    order = await reachable_order(session, ctx.settings, principal, token, data.order_id)
    gateway = gateway_named(ctx.settings, NAME)
    if not isinstance(gateway, RazorpayGateway):
        raise PaymentNotPossible("Razorpay is not available.")
    candidates = [p for p in reversed(await fetch.payments_of(session, order.id)) if p.gateway == NAME]
    payment = _signed_payment(gateway, candidates, data)
    if payment is None:
        raise VerificationFailed(details=[{"field": "razorpay_signature", "message": "does not match"}])
    known = payment.details.get("razorpay_payment_id")
    if payment.state != PaymentState.SUCCEEDED or known == data.razorpay_payment_id:
        try:
            result = await gateway.confirm_checkout(payment.reference, data.razorpay_payment_id)
        except RazorpayRefused as exc:
            raise VerificationFailed(
                str(exc), details=[{"field": "razorpay_payment_id", "message": "not a payment of this order"}]
            ) from exc
        except GatewayError as exc:
            raise PaymentNotPossible(f"Razorpay could not be asked: {exc}") from exc
        await payments.apply(session, ctx.settings, order, payment, result)
        await session.flush()
    # Otherwise a second payment of an order already paid: never captured on top of the first (Razorpay
    # returns a payment left uncaptured).
    return ok(
        VerifiedRead(
            order_id=order.id,
            status=order.status,
            payment_status=order.payment_status,
            payment_id=payment.id,
            payment_state=payment.state,
            error=payment.error,
        )
    )


@router.post("/webhooks/razorpay", responses=errors_doc(400))
async def razorpay_webhook(request: Request, ctx: Ctx, session: DbSession) -> Envelope[dict[str, bool]]:
    """Razorpay's webhook: verified from the raw body (X-Razorpay-Signature), stored once per
    X-Razorpay-Event-Id, acted on by a job."""
    new = await receive(session, ctx.settings, NAME, await request.body(), request.headers)
    return ok({"received": True, "duplicate": not new})
