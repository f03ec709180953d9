"""Orders API: /api/v1/orders for customers and guests, /api/v1/admin/orders for staff."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Cookie, Header, Query, Request, Response, status

from emporium.accounts.auth import CurrentUser, MaybePrincipal
from emporium.audit.schemas import Actor
from emporium.cart.service import CART_TOKEN_COOKIE
from emporium.core.context import Ctx
from emporium.core.errors import ValidationFailed, errors_doc
from emporium.core.idempotency import IdempotencyKeyHeader
from emporium.core.pagination import Page
from emporium.core.params import API_PREFIX, MAX_ID, PLAIN_TEXT_PATTERN
from emporium.core.responses import Envelope, ListEnvelope, Pagination, ok
from emporium.core.session import DbSession
from emporium.orders import limits, schemas
from emporium.orders.auth import (
    OrdersReader,
    OrdersUpdater,
    OwnOrder,
    OwnOrderForUpdate,
    ReadableOrder,
    StaffOrder,
    StaffOrderForUpdate,
    order_access_token,
)
from emporium.orders.checkout import checkout
from emporium.orders.lifecycle import OFFLINE_METHODS
from emporium.orders.models import OrderStatus, PaymentStatus
from emporium.orders.schemas import OrderFilters
from emporium.orders.service import orders
from emporium.orders.tracking import track_limited

router = APIRouter(prefix=API_PREFIX, tags=["orders"])

OrderNumber = Annotated[str, Query(min_length=5, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]


@router.post("/orders", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 404, 409, 422, 429))
async def place_order(
    data: schemas.OrderCreate,
    request: Request,
    response: Response,
    ctx: Ctx,
    session: DbSession,
    principal: MaybePrincipal,
    idempotency_key: IdempotencyKeyHeader,
    x_cart_token: Annotated[str | None, Header(max_length=200)] = None,
    cart_token: Annotated[str | None, Cookie(alias=CART_TOKEN_COOKIE, max_length=200)] = None,
) -> Envelope[schemas.OrderRead]:
    """Check out the caller's cart (a signed-in customer's, or the guest cart of X-Cart-Token). Every amount
    is computed here from the catalog; send an Idempotency-Key so a retry cannot place a second order.
    Guest checkouts are rate limited per client address and phone; open orders are capped (409)."""
    client = limits.client_address(request)
    if principal is None:
        await limits.limit_guest_checkout(ctx, client, data.guest.phone if data.guest else None)
    placed = await checkout.place(
        session,
        ctx.settings,
        data,
        user=principal.user if principal else None,
        cart_token=None if principal else (x_cart_token or cart_token),
        idempotency_key=idempotency_key,
        client_address=client,
    )
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    read = await orders.read(session, placed.order, lines=placed.lines)
    if placed.order.user_id is None:
        # A guest's key to this order (send it back as X-Order-Token to read, pay or cancel it).
        read.access_token = order_access_token(ctx.settings, placed.order)
    return ok(read, None if placed.replayed else "Order placed.")


@router.get("/orders", response_model=ListEnvelope[schemas.OrderSummary], responses=errors_doc(401, 422))
async def my_orders(session: DbSession, user: CurrentUser, page: Page) -> ListEnvelope[schemas.OrderSummary]:
    items, total = await orders.page(session, OrderFilters(customer_id=user.id), page)
    return ListEnvelope(data=items, pagination=Pagination.of(page.page, page.limit, total))


@router.get("/orders/track", responses=errors_doc(404, 422, 429))
async def track_order(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    order_number: OrderNumber,
    phone: Annotated[str | None, Query(min_length=6, max_length=32, pattern=PLAIN_TEXT_PATTERN)] = None,
    email: Annotated[str | None, Query(min_length=3, max_length=320, pattern=PLAIN_TEXT_PATTERN)] = None,
) -> Envelope[schemas.TrackedOrder]:
    """Guests follow an order by its number plus the phone or e-mail given at checkout. Rate limited per
    client address and, for wrong guesses, per order number; a wrong number and a wrong phone answer the
    same 404."""
    if (phone is None) == (email is None):
        raise ValidationFailed(
            details=[{"field": "phone", "message": "Give the phone or the e-mail, not both."}]
        )
    client = request.client.host if request.client else "unknown"
    return ok(await track_limited(session, ctx, client, order_number, phone=phone, email=email))


@router.get("/orders/{order_id}", responses=errors_doc(401, 404, 422))
async def my_order(session: DbSession, order: OwnOrder) -> Envelope[schemas.OrderRead]:
    return ok(await orders.read(session, order))


@router.put("/orders/{order_id}/cancel", responses=errors_doc(401, 404, 409, 422))
async def cancel_order(
    ctx: Ctx,
    session: DbSession,
    principal: MaybePrincipal,
    order: OwnOrderForUpdate,
    data: schemas.CancelIn | None = None,
) -> Envelope[schemas.OrderRead]:
    """Cancel while pending, confirmed or processing: the stock goes back, a captured payment is refunded."""
    result = await orders.cancel_own(
        session,
        ctx.settings,
        order,
        actor_user_id=principal.user.id if principal else None,
        reason=data.reason if data else None,
    )
    return ok(result, "Order cancelled.")


@router.get(
    "/orders/{order_id}/invoice.pdf", response_class=Response, responses=errors_doc(401, 404, 409, 422)
)
async def order_invoice(ctx: Ctx, session: DbSession, order: ReadableOrder) -> Response:
    """The invoice once the order is confirmed, a pro-forma invoice while it is pending; 409 NO_INVOICE
    for an order cancelled before it was confirmed."""
    pdf = await orders.invoice(session, ctx.settings, order)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="invoice-{order.number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


# Staff ----------------------------------------------------------------------------------------------------


@router.get(
    "/admin/orders", response_model=ListEnvelope[schemas.OrderSummary], responses=errors_doc(401, 403, 422)
)
async def admin_orders(
    session: DbSession,
    _staff: OrdersReader,
    page: Page,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    payment_status: PaymentStatus | None = None,
    created_from: datetime | None = None,
    created_until: datetime | None = None,
    customer_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    email: Annotated[str | None, Query(min_length=3, max_length=320, pattern=PLAIN_TEXT_PATTERN)] = None,
    number: Annotated[str | None, Query(min_length=5, max_length=32, pattern=r"^[A-Za-z0-9-]+$")] = None,
    unconfirmed: Annotated[
        bool, Query(description="Only cash-on-delivery and bank-transfer orders still pending")
    ] = False,
    sort: Annotated[Literal["newest", "oldest"], Query(description="By age of the order")] = "newest",
) -> ListEnvelope[schemas.OrderSummary]:
    """Orders newest first; ``unconfirmed=true&sort=oldest`` lists the offline orders waiting longest for
    staff (each with the ``expires_at`` after which it is cancelled)."""
    for field, value in (("created_from", created_from), ("created_until", created_until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(
                details=[{"field": field, "message": "Give a time zone, e.g. 2026-11-24T00:00Z."}]
            )
    filters = OrderFilters(
        status=status_,
        payment_status=payment_status,
        created_from=created_from,
        created_until=created_until,
        customer_id=customer_id,
        email=email,
        number=number,
        awaiting_staff=OFFLINE_METHODS if unconfirmed else None,
        oldest_first=sort == "oldest",
    )
    items, total = await orders.page(session, filters, page)
    return ListEnvelope(data=items, pagination=Pagination.of(page.page, page.limit, total))


@router.get("/admin/orders/{order_id}", responses=errors_doc(401, 403, 404, 422))
async def admin_order(session: DbSession, order: StaffOrder) -> Envelope[schemas.OrderRead]:
    return ok(await orders.read(session, order, staff=True))


@router.put("/admin/orders/{order_id}", responses=errors_doc(401, 403, 404, 409, 422))
async def update_order(
    data: schemas.OrderUpdate,
    request: Request,
    ctx: Ctx,
    session: DbSession,
    staff: OrdersUpdater,
    order: StaffOrderForUpdate,
) -> Envelope[schemas.OrderRead]:
    """Move the order along the state machine (an illegal move is 409); add a note, carrier or tracking.
    Audited like the back office's moves."""
    actor = Actor(staff.id, staff.email, request.client.host if request.client else None)
    return ok(await orders.staff_update(session, ctx.settings, order, data, actor=actor))
