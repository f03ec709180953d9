"""Payments API: start and confirm payments, the order's ledger, refunds, bank transfers, webhooks."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Path, Request, status

from emporium.accounts.auth import MaybePrincipal
from emporium.audit.schemas import Actor
from emporium.core.context import Ctx
from emporium.core.errors import ValidationFailed, errors_doc
from emporium.core.idempotency import IdempotencyKeyHeader, request_digest
from emporium.core.money import from_minor, to_minor_units
from emporium.core.params import API_PREFIX, IdPath
from emporium.core.responses import Envelope, ok
from emporium.core.session import DbSession
from emporium.orders.auth import OrderToken
from emporium.payments import schemas
from emporium.payments.auth import Refunder, Verifier, reachable_order, reachable_payment
from emporium.payments.back_office import back_office_money
from emporium.payments.card_data import refuse_card_data
from emporium.payments.config import PaymentSettings
from emporium.payments.fetch import fetch
from emporium.payments.gateways.registry import enabled
from emporium.payments.models import Payment, PaymentState, PaymentTransaction
from emporium.payments.service import payments
from emporium.payments.webhooks import receive

if TYPE_CHECKING:
    from emporium.accounts.models import User
    from emporium.orders.models import Order


async def _card_data_rules(request: Request) -> None:
    """Card data is refused in what shoppers and staff send. A gateway's webhook is exempt: it carries the
    provider's own card objects (brand, last four, expiry; never a number) and is verified by signature."""
    if request.scope.get("endpoint") not in _SIGNED_BY_GATEWAY:
        await refuse_card_data(request)


router = APIRouter(prefix=API_PREFIX, tags=["payments"], dependencies=[Depends(_card_data_rules)])

GatewayName = Annotated[str, Path(pattern=r"^[a-z_]{2,32}$")]


def _payment_read(payment: Payment) -> schemas.PaymentRead:
    waiting = payment.state == PaymentState.REQUIRES_ACTION
    details = {key: value for key, value in payment.details.items() if key != "next_action"}
    return schemas.PaymentRead(
        id=payment.id,
        order_id=payment.order_id,
        gateway=payment.gateway,
        state=payment.state,
        amount=from_minor(payment.amount_minor, payment.currency),
        currency=payment.currency,
        client_secret=payment.client_secret if payment.state == PaymentState.REQUIRES_ACTION else None,
        next_action=payment.details.get("next_action") if waiting else None,
        details=details,
        expires_at=payment.expires_at,
        card_brand=payment.card_brand,
        card_last4=payment.card_last4,
        error=payment.error,
        created_at=payment.created_at,
    )


def transaction_read(tx: PaymentTransaction) -> schemas.TransactionRead:
    """A ledger row as staff and the shopper see it."""
    return schemas.TransactionRead(
        id=tx.id,
        kind=tx.kind,
        status=tx.status,
        amount=from_minor(tx.amount_minor, tx.currency),
        currency=tx.currency,
        gateway=tx.gateway,
        gateway_reference=tx.gateway_reference,
        error=tx.error,
        reason=tx.reason,
        created_at=tx.created_at,
    )


def _actor(request: Request, staff: User) -> Actor:
    """Who moved the money, for the audit log: the staff member and the address they came from."""
    return Actor(staff.id, staff.email, request.client.host if request.client else None)


def _minor(order: Order, amount: Decimal, field: str) -> int:
    return to_minor_units(amount, order.currency, field)


@router.get("/payments/methods")
async def methods(ctx: Ctx) -> Envelope[list[schemas.MethodRead]]:
    """What this shop accepts, for the storefront's checkout."""
    instructions = ctx.settings.part(PaymentSettings).bank_transfer_instructions
    return ok(
        [
            schemas.MethodRead(
                code=g.name,
                title=g.title,
                online=g.online,
                instructions=instructions if g.name == "bank_transfer" else None,
            )
            for g in enabled(ctx.settings)
        ]
    )


@router.post(
    "/payments/create-intent", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 404, 409, 422)
)
async def create_intent(
    data: schemas.StartIn,
    ctx: Ctx,
    session: DbSession,
    principal: MaybePrincipal,
    idempotency_key: IdempotencyKeyHeader,
    token: OrderToken = None,
) -> Envelope[schemas.PaymentRead]:
    """Start paying an order with its payment method: the answer says what the browser does next (the test
    gateway: go to its payment page). Asking again hands out the same open payment."""
    order = await reachable_order(session, ctx.settings, principal, token, data.order_id)
    payment = await payments.start(session, ctx.settings, order, idempotency_key=idempotency_key or "none")
    return ok(_payment_read(payment))


@router.post(
    "/payments/process", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 404, 409, 422)
)
async def process(
    data: schemas.ProcessIn,
    ctx: Ctx,
    session: DbSession,
    principal: MaybePrincipal,
    idempotency_key: IdempotencyKeyHeader,
    token: OrderToken = None,
) -> Envelope[schemas.PaymentRead]:
    """Seed 002's shape of create-intent; the method must be the one the order was placed with."""
    order = await reachable_order(session, ctx.settings, principal, token, data.order_id)
    if data.payment_method is not None and data.payment_method != order.payment_method:
        raise ValidationFailed(
            details=[{"field": "payment_method", "message": f"this order is paid by {order.payment_method}"}]
        )
    payment = await payments.start(session, ctx.settings, order, idempotency_key=idempotency_key or "none")
    return ok(_payment_read(payment))


@router.post("/payments/confirm", responses=errors_doc(401, 404, 409, 422))
async def confirm(
    data: schemas.ConfirmIn, ctx: Ctx, session: DbSession, principal: MaybePrincipal, token: OrderToken = None
) -> Envelope[schemas.PaymentRead]:
    """Ask the provider what became of a payment and record it (also what reconciles a timed-out call)."""
    payment, order = await reachable_payment(session, ctx.settings, principal, token, data.payment_id)
    return ok(_payment_read(await payments.reconcile(session, ctx.settings, order, payment)))


@router.get("/payments/{payment_id}", responses=errors_doc(401, 404, 422))
async def get_payment(
    payment_id: IdPath, ctx: Ctx, session: DbSession, principal: MaybePrincipal, token: OrderToken = None
) -> Envelope[schemas.PaymentRead]:
    payment, _ = await reachable_payment(session, ctx.settings, principal, token, payment_id)
    return ok(_payment_read(payment))


@router.get("/orders/{order_id}/payments", responses=errors_doc(401, 404, 422))
async def order_payments(
    order_id: IdPath, ctx: Ctx, session: DbSession, principal: MaybePrincipal, token: OrderToken = None
) -> Envelope[schemas.OrderPayments]:
    order = await reachable_order(session, ctx.settings, principal, token, order_id)
    balance = await fetch.balance(session, order.id)

    def money(minor: int) -> Decimal:
        return from_minor(minor, order.currency)

    return ok(
        schemas.OrderPayments(
            order_id=order.id,
            payment_status=order.payment_status,
            captured=money(balance.captured_minor),
            refunded=money(balance.refunded_minor),
            refundable=money(max(balance.refundable_minor, 0)),
            payments=[_payment_read(p) for p in await fetch.payments_of(session, order.id)],
            transactions=[transaction_read(t) for t in await fetch.transactions_of(session, order.id)],
        )
    )


@router.post(
    "/payments/refund", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 403, 404, 409, 422)
)
async def refund(
    data: schemas.RefundIn,
    request: Request,
    ctx: Ctx,
    session: DbSession,
    staff: Refunder,
    idempotency_key: IdempotencyKeyHeader,
) -> Envelope[schemas.TransactionRead]:
    """Refund all or part of what an order captured (staff with refunds:create). Needs an Idempotency-Key:
    the same key and body returns the same refund; the same key with another body is a 409."""
    if idempotency_key is None:
        raise ValidationFailed(details=[{"field": "Idempotency-Key", "message": "required for refunds"}])
    order = await payments.lock_order(session, data.order_id)
    amount = _minor(order, data.amount, "amount") if data.amount is not None else None
    tx = await back_office_money.refund_amount(
        session,
        ctx.settings,
        order,
        amount_minor=amount,
        reason=data.reason,
        idempotency_key=idempotency_key,
        actor=_actor(request, staff),
        request_digest=request_digest(data.model_dump(mode="json")),
    )
    return ok(
        transaction_read(tx),
        "Refund recorded.",
    )


@router.post("/payments/bank-transfer/verify", responses=errors_doc(401, 403, 404, 409, 422))
async def verify_transfer(
    data: schemas.TransferIn, request: Request, ctx: Ctx, session: DbSession, staff: Verifier
) -> Envelope[dict[str, str]]:
    """Staff with payments:verify record a bank transfer that arrived: the order is paid and confirmed."""
    order = await payments.lock_order(session, data.order_id)
    await back_office_money.record_bank_transfer(
        session,
        ctx.settings,
        order,
        amount_minor=_minor(order, data.amount, "amount"),
        reference=data.reference,
        actor=_actor(request, staff),
    )
    return ok({"payment_status": order.payment_status, "status": order.status}, "Transfer recorded.")


async def _webhook(gateway: str, request: Request, ctx: Ctx, session: DbSession) -> Envelope[dict[str, bool]]:
    new = await receive(session, ctx.settings, gateway, await request.body(), request.headers)
    return ok({"received": True, "duplicate": not new})


@router.post("/payments/webhook/{gateway}", include_in_schema=True, responses=errors_doc(400, 422))
async def webhook(
    gateway: GatewayName, request: Request, ctx: Ctx, session: DbSession
) -> Envelope[dict[str, bool]]:
    """A gateway's event. Verified from the raw body before anything is read; a repeat is acknowledged and
    changes nothing; the work runs as a job."""
    return await _webhook(gateway, request, ctx, session)


@router.post("/payments/webhook", responses=errors_doc(400))
async def stripe_webhook(request: Request, ctx: Ctx, session: DbSession) -> Envelope[dict[str, bool]]:
    """Stripe's events at seed 000's path, verified by their ``Stripe-Signature`` header."""
    return await _webhook("stripe", request, ctx, session)


_SIGNED_BY_GATEWAY = frozenset({webhook, stripe_webhook})
