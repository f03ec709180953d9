"""Placing an order: one transaction that re-prices the cart, reserves the stock, uses the coupon, writes
the order and its lines, empties the cart and queues the confirmation e-mail. Any refusal raises, and the
request's transaction rolls all of it back: no order, no reservation and no coupon use are left behind.

The number of SQL statements does not grow with the number of lines (a test holds it at 25 or fewer):
the cart is read in one statement, all pools are reserved in one, all lines are inserted in one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.errors import AccountError
from emporium.accounts.models import User
from emporium.cart.models import Cart
from emporium.cart.repository import CartLine, CartRepository
from emporium.cart.service import carts, token_digest
from emporium.catalog.names import line_name
from emporium.core import idempotency
from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.errors import NotFound, ValidationFailed
from emporium.core.money import display_money, from_minor
from emporium.inventory.reservations import reservations
from emporium.notifications.service import notifications
from emporium.orders import limits, schemas
from emporium.orders.errors import OrderError
from emporium.orders.lifecycle import PLACED_HOOKS, add_event
from emporium.orders.models import Order, OrderLine, OrderStatus, PaymentStatus, StockState
from emporium.orders.names import payment_method_name
from emporium.orders.repository import OrderRepository
from emporium.orders.seen_quote import PriceChanged, SeenQuote, changes, expected_total_minor
from emporium.pricing.calculations import Totals
from emporium.pricing.errors import PricingError
from emporium.pricing.service import Quote, pricing

OPERATION = "orders.create"


class CartEmpty(ValidationFailed):
    code = OrderError.CART_EMPTY
    message = "The cart is empty."


class CartNotPurchasable(ValidationFailed):
    code = OrderError.CART_NOT_PURCHASABLE
    message = "Some lines of the cart cannot be bought as they stand."


@dataclass(frozen=True)
class Placed:
    order: Order
    replayed: bool


def order_number(value: int, year: int) -> str:
    return f"ORD-{year}-{value:06d}"


def _address_dict(address: Any) -> dict[str, Any]:
    fields = ("full_name", "phone", "line1", "line2", "city", "region", "postal_code", "country")
    return {f: getattr(address, f) for f in fields}


def _scope(user: User | None, cart_token: str | None) -> str:
    """Whose idempotency keys a checkout's key is among: the customer's, or the guest cart's."""
    return f"user:{user.id}" if user is not None else f"cart:{token_digest(cart_token or '')}"


class Checkout:
    async def place(
        self,
        session: AsyncSession,
        settings: Settings,
        data: schemas.OrderCreate,
        *,
        user: User | None,
        cart_token: str | None,
        idempotency_key: str | None,
        shown: SeenQuote | None = None,
        client_address: str | None = None,
    ) -> Placed:
        """Place the order, or raise. ``shown`` is the quote the shopper's page showed
        (``data.expected_total`` is the API's equivalent): when the re-priced order differs from it,
        ``PriceChanged`` is raised before anything is reserved or written."""
        if user is None and cart_token is None:
            raise CartEmpty()
        scope = _scope(user, cart_token)
        if idempotency_key is not None:
            first = await idempotency.claim(
                session,
                scope=scope,
                operation=OPERATION,
                key=idempotency_key,
                digest=idempotency.request_digest(data.model_dump(mode="json")),
            )
            if first is not None and first.resource_id is not None:
                order = await OrderRepository(session).order(first.resource_id)
                if order is not None:
                    return Placed(order, replayed=True)

        if data.payment_method not in settings.payment_methods:
            raise ValidationFailed(
                "This payment method is not offered.",
                code=OrderError.PAYMENT_METHOD_UNAVAILABLE,
                details=[
                    {"field": "payment_method", "message": f"one of {', '.join(settings.payment_methods)}"}
                ],
            )
        repo = OrderRepository(session)
        shipping_address, contact = await self._addresses_and_contact(repo, data, user)
        await limits.check_open_orders(session, settings, contact, client_address)

        cart = await carts.find(session, settings, user_id=user.id if user else None, token=cart_token)
        rows = await CartRepository(session).lines(cart.id) if cart is not None else []
        if cart is None or not rows:
            raise CartEmpty()
        problems = carts.problems(rows)
        if problems:
            raise CartNotPurchasable(
                details=[
                    {"field": f"items.{p.cart_item_id}", "message": f"{p.code}: {p.message}"}
                    for p in problems
                ]
            )

        lines = carts.priced_lines(rows)
        quote = await pricing.quote(
            session,
            settings,
            lines,
            coupon_code=cart.coupon_code,
            country=shipping_address["country"],
            region=shipping_address.get("region"),
            shipping_method_id=data.shipping_method_id,
            user_id=user.id if user else None,
            email=contact["email"],
            strict=True,
        )
        if quote.shipping_method is None:
            raise ValidationFailed(
                "Choose a shipping method.",
                code=PricingError.SHIPPING_METHOD_UNAVAILABLE,
                details=[{"field": "shipping_method_id", "message": "not available for this address"}],
            )
        self._check_shown(settings, data, cart, rows, quote, shown)

        draws: dict[int, int] = defaultdict(int)
        for row in rows:
            draws[row.pool.id] += row.item.quantity * row.variant.draw_per_unit
        await reservations.reserve(session, draws)

        now = utcnow()
        totals = quote.totals
        order = Order(
            number=order_number(await repo.next_number(), now.year),
            user_id=user.id if user else None,
            contact_name=contact["name"],
            contact_email=contact["email"],
            contact_phone=contact["phone"],
            status=OrderStatus.PENDING,
            payment_status=PaymentStatus.AWAITING,
            payment_method=data.payment_method,
            stock_state=StockState.RESERVED,
            currency=quote.currency,
            subtotal_minor=totals.subtotal_minor,
            discount_minor=totals.discount_minor,
            shipping_minor=totals.shipping_minor,
            tax_minor=totals.tax_minor,
            total_minor=totals.total_minor,
            prices_include_tax=quote.prices_include_tax,
            coupon_id=quote.coupon.id if quote.coupon else None,
            coupon_code=quote.coupon.code if quote.coupon else None,
            shipping_method_id=quote.shipping_method.id,
            shipping_method_name=quote.shipping_method.name,
            shipping_address=shipping_address,
            billing_address=_address_dict(data.billing_address) if data.billing_address else shipping_address,
            customer_note=data.note,
            expires_at=limits.deadline(settings, data.payment_method, now),
            client_address=client_address,
        )
        session.add(order)
        await session.flush()

        by_variant = {line.variant_id: line for line in totals.lines}
        # One INSERT for every line (Core, no RETURNING: the ORM would send one statement per line).
        await session.execute(
            insert(OrderLine),
            [
                {
                    "order_id": order.id,
                    "product_id": row.product.id,
                    "variant_id": row.variant.id,
                    "pool_id": row.pool.id,
                    "product_name": row.product.name,
                    "variant_name": row.variant.name,
                    "sku": row.variant.sku,
                    "options": row.variant.options,
                    "quantity": row.item.quantity,
                    "stock_draw": row.item.quantity * row.variant.draw_per_unit,
                    "unit_price_minor": row.variant.price_minor,
                    "subtotal_minor": by_variant[row.variant.id].subtotal_minor,
                    "discount_minor": by_variant[row.variant.id].discount_minor,
                    "tax_minor": by_variant[row.variant.id].tax_minor,
                    "total_minor": by_variant[row.variant.id].total_minor,
                    "tax_rate_ppm": quote.tax_rate_ppm,
                }
                for row in rows
            ],
        )
        if quote.coupon is not None:
            await pricing.redeem(
                session,
                quote.coupon,
                order_id=order.id,
                user_id=user.id if user else None,
                email=contact["email"],
                discount_minor=totals.discount_minor,
            )
        add_event(
            session, order, "placed", actor_user_id=user.id if user else None, to_status=OrderStatus.PENDING
        )
        if idempotency_key is not None:
            await idempotency.complete(
                session, scope=scope, operation=OPERATION, key=idempotency_key, resource_id=order.id
            )
        await carts.clear(session, settings, cart)
        notifications.queue_email(
            session,
            to=order.contact_email,
            template="order_confirmation",
            context=self._confirmation_context(settings, order, rows, totals),
        )
        for hook in PLACED_HOOKS:
            await hook(session, settings, order)
        await session.flush()
        return Placed(order, replayed=False)

    async def already_placed(
        self, session: AsyncSession, *, user: User | None, cart_token: str | None, idempotency_key: str
    ) -> Order | None:
        """The order a checkout with this key placed, if one did: a form sent again after its order was
        placed finds it, whatever the browser still holds."""
        if user is None and cart_token is None:
            return None
        found = await idempotency.result_of(
            session, scope=_scope(user, cart_token), operation=OPERATION, key=idempotency_key
        )
        return await OrderRepository(session).order(found) if found is not None else None

    def _check_shown(
        self,
        settings: Settings,
        data: schemas.OrderCreate,
        cart: Cart,
        rows: Sequence[CartLine],
        quote: Quote,
        shown: SeenQuote | None,
    ) -> None:
        if shown is None and data.expected_total is None:
            return
        now = SeenQuote.of(carts.read_priced(settings, cart, list(rows), quote), data.shipping_method_id)

        def money(minor: int) -> str:
            return display_money(from_minor(minor, now.currency), now.currency, settings.locale)

        if shown is not None and shown != now:
            raise PriceChanged(now, changes(shown, now, money))
        if data.expected_total is not None:
            expected = expected_total_minor(data.expected_total, now.currency)
            if expected != now.total_minor:
                raise PriceChanged(now, [f"The total is now {money(now.total_minor)}."])

    async def _addresses_and_contact(
        self, repo: OrderRepository, data: schemas.OrderCreate, user: User | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if data.address_id is not None:
            if user is None:
                raise ValidationFailed(
                    details=[{"field": "address_id", "message": "Guests give shipping_address instead."}]
                )
            address = await repo.own_address(user.id, data.address_id)
            if address is None:
                raise NotFound("No such address.", code=AccountError.ADDRESS_NOT_FOUND)
            shipping = _address_dict(address)
        else:
            shipping = _address_dict(data.shipping_address)
        if user is not None:
            name = " ".join(p for p in (user.first_name, user.last_name) if p) or shipping["full_name"]
            contact = {"name": name, "email": user.email, "phone": shipping.get("phone") or user.phone}
        elif data.guest is not None:
            contact = {
                "name": data.guest.name,
                "email": str(data.guest.email).lower(),
                "phone": data.guest.phone,
            }
        else:
            raise ValidationFailed(
                "Guests give their name, phone and e-mail.",
                details=[{"field": "guest", "message": "required when not signed in"}],
            )
        return shipping, contact

    def _confirmation_context(
        self, settings: Settings, order: Order, rows: Sequence[CartLine], totals: Totals
    ) -> dict[str, Any]:
        def money(minor: int) -> str:
            return f"{from_minor(minor, order.currency):f} {order.currency}"

        return {
            "shop_name": settings.shop_name,
            "name": order.contact_name,
            "number": order.number,
            "lines": [
                {
                    "name": line_name(row.product.name, row.variant.name),
                    "quantity": row.item.quantity,
                    "total": money(row.item.quantity * row.variant.price_minor),
                }
                for row in rows
            ],
            "subtotal": money(totals.subtotal_minor),
            "discount": money(totals.discount_minor) if totals.discount_minor else None,
            "shipping": money(totals.shipping_minor),
            "tax": money(totals.tax_minor),
            "total": money(totals.total_minor),
            "payment_method": payment_method_name(order.payment_method),
            "order_url": f"{settings.public_url}/account/orders/{order.id}",
            "track_url": f"{settings.public_url}/track?order_number={order.number}",
        }


checkout = Checkout()
