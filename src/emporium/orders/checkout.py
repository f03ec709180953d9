"""Placing an order: one transaction of named steps, in the order they take their locks (``Checkout.place``).

1. Claim the idempotency key, or replay the order it already placed: the key's row is the first lock, so a
   retry with the same key waits for the first request's transaction.
2. Check the request: payment method, addresses, the buyer's cap of open orders.
3. Read the purchasable cart through the cart service: its lines with their variants and pools.
4. Price it, and compare with the quote the shopper was shown.
5. Reserve its stock: the pools, locked in id order.
6. Write the order and its lines, and use the coupon: the coupon's row.
7. After-placed work: complete the key, empty the cart (its rows), queue the confirmation, run the hooks.

Any refusal raises, and the request's transaction rolls all of it back: no order, no reservation and no
coupon use are left behind.

The number of SQL statements the database runs does not grow with the number of lines (a test counts an
executemany as one statement per row, as the server runs it): the cart is read in one statement, all pools
are locked and reserved in one, all lines are inserted in one multi-row INSERT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.errors import AccountError
from emporium.accounts.models import User
from emporium.cart.service import CartToBuy, carts, token_digest
from emporium.catalog.names import line_name
from emporium.core import idempotency
from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.errors import NotFound, ValidationFailed
from emporium.core.metrics import ORDERS_PLACED, count_after_commit
from emporium.core.money import display_money, from_minor
from emporium.inventory.reservations import reservations
from emporium.orders import limits, notices, schemas
from emporium.orders.errors import OrderError
from emporium.orders.lifecycle import PLACED_HOOKS, add_event
from emporium.orders.models import Order, OrderLine, OrderStatus, PaymentStatus, StockState
from emporium.orders.names import payment_method_name
from emporium.orders.repository import OrderRepository
from emporium.orders.seen_quote import PriceChanged, SeenQuote, changes, expected_total_minor
from emporium.pricing.errors import PricingError
from emporium.pricing.models import ShippingMethod
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
    # The lines just written (None for a replay): the new order is shown without reading them again.
    lines: list[OrderLine] | None = None


@dataclass(frozen=True)
class _Key:
    """The checkout's idempotency key (None: the client sent none) and whose keys it is among."""

    scope: str
    key: str | None


@dataclass(frozen=True)
class _Buyer:
    user: User | None
    shipping_address: dict[str, Any]
    contact: dict[str, Any]

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None


@dataclass(frozen=True)
class _Priced:
    quote: Quote
    shipping_method: ShippingMethod


def order_number(value: int, year: int) -> str:
    return f"ORD-{year}-{value:06d}"


def _address_dict(address: Any) -> dict[str, Any]:
    fields = ("full_name", "phone", "line1", "line2", "city", "region", "postal_code", "country")
    return {f: getattr(address, f) for f in fields}


def _scope(user: User | None, cart_token: str | None) -> str:
    """Whose idempotency keys a checkout's key is among: the customer's, or the guest cart's."""
    return f"user:{user.id}" if user is not None else f"cart:{token_digest(cart_token or '')}"


def _check_payment_method(settings: Settings, data: schemas.OrderCreate) -> None:
    if data.payment_method not in settings.payment_methods:
        raise ValidationFailed(
            "This payment method is not offered.",
            code=OrderError.PAYMENT_METHOD_UNAVAILABLE,
            details=[{"field": "payment_method", "message": f"one of {', '.join(settings.payment_methods)}"}],
        )


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
        key = _Key(_scope(user, cart_token), idempotency_key)
        replayed = await self._claim_or_replay(session, key, data)
        if replayed is not None:
            return Placed(replayed, replayed=True)
        buyer = await self._check_request(session, settings, data, user, client_address)
        to_buy = await self._purchasable_cart(session, settings, buyer, cart_token)
        priced = await self._price(session, settings, data, buyer, to_buy)
        self._check_shown(settings, data, to_buy, priced.quote, shown)
        await self._reserve_stock(session, to_buy)
        order, lines = await self._write_order(session, settings, data, buyer, to_buy, priced, client_address)
        await self._after_placed(session, settings, key, order, to_buy, priced.quote)
        count_after_commit(session, ORDERS_PLACED.labels(order.payment_method))
        return Placed(order, replayed=False, lines=lines)

    # The steps, in the order ``place`` takes them -------------------------------------------------------

    async def _claim_or_replay(
        self, session: AsyncSession, key: _Key, data: schemas.OrderCreate
    ) -> Order | None:
        """Take the idempotency key in this transaction; the order a first request with the key placed, if
        one did (a first request refused and rolled back left nothing, and this one goes ahead)."""
        if key.key is None:
            return None
        first = await idempotency.claim(
            session,
            scope=key.scope,
            operation=OPERATION,
            key=key.key,
            digest=idempotency.request_digest(data.model_dump(mode="json")),
        )
        if first is None or first.resource_id is None:
            return None
        return await OrderRepository(session).order(first.resource_id)

    async def _check_request(
        self,
        session: AsyncSession,
        settings: Settings,
        data: schemas.OrderCreate,
        user: User | None,
        client_address: str | None,
    ) -> _Buyer:
        """Who orders and where to: the payment method is offered, the addresses and contact are complete,
        and the buyer holds fewer open orders than the caps."""
        _check_payment_method(settings, data)
        shipping_address, contact = await self._addresses_and_contact(OrderRepository(session), data, user)
        await limits.check_open_orders(session, settings, contact, client_address)
        return _Buyer(user, shipping_address, contact)

    async def _purchasable_cart(
        self, session: AsyncSession, settings: Settings, buyer: _Buyer, cart_token: str | None
    ) -> CartToBuy:
        """The cart, read through the cart service; refused when empty or when a line cannot be bought."""
        to_buy = await carts.to_buy(session, settings, user_id=buyer.user_id, token=cart_token)
        if to_buy is None:
            raise CartEmpty()
        if to_buy.problems:
            raise CartNotPurchasable(
                details=[
                    {"field": f"items.{p.cart_item_id}", "message": f"{p.code}: {p.message}"}
                    for p in to_buy.problems
                ]
            )
        return to_buy

    async def _price(
        self,
        session: AsyncSession,
        settings: Settings,
        data: schemas.OrderCreate,
        buyer: _Buyer,
        to_buy: CartToBuy,
    ) -> _Priced:
        """The cart priced now for this address (strict: a coupon that no longer applies is refused), with
        the shipping method it is sent by."""
        quote = await pricing.quote(
            session,
            settings,
            carts.priced_lines(to_buy.lines),
            coupon_code=to_buy.cart.coupon_code,
            country=buyer.shipping_address["country"],
            region=buyer.shipping_address.get("region"),
            shipping_method_id=data.shipping_method_id,
            user_id=buyer.user_id,
            email=buyer.contact["email"],
            strict=True,
        )
        if quote.shipping_method is None:
            raise ValidationFailed(
                "Choose a shipping method.",
                code=PricingError.SHIPPING_METHOD_UNAVAILABLE,
                details=[{"field": "shipping_method_id", "message": "not available for this address"}],
            )
        return _Priced(quote, quote.shipping_method)

    def _check_shown(
        self,
        settings: Settings,
        data: schemas.OrderCreate,
        to_buy: CartToBuy,
        quote: Quote,
        shown: SeenQuote | None,
    ) -> None:
        """Refuse (PriceChanged) a quote other than the one shown, or a total other than the one expected."""
        if shown is None and data.expected_total is None:
            return
        now = SeenQuote.of(
            carts.read_priced(settings, to_buy.cart, to_buy.lines, quote), data.shipping_method_id
        )

        def money(minor: int) -> str:
            return display_money(
                from_minor(minor, now.currency), now.currency, settings.locale, settings.currency_display
            )

        if shown is not None and shown != now:
            raise PriceChanged(now, changes(shown, now, money))
        if data.expected_total is not None:
            expected = expected_total_minor(data.expected_total, now.currency)
            if expected != now.total_minor:
                raise PriceChanged(now, [f"The total is now {money(now.total_minor)}."])

    async def _reserve_stock(self, session: AsyncSession, to_buy: CartToBuy) -> None:
        """Reserve what every pool gives the cart, or raise InsufficientStock: the pools are locked in id
        order, so two checkouts sharing pools queue rather than deadlock."""
        await reservations.reserve(session, to_buy.draws())

    async def _write_order(
        self,
        session: AsyncSession,
        settings: Settings,
        data: schemas.OrderCreate,
        buyer: _Buyer,
        to_buy: CartToBuy,
        priced: _Priced,
        client_address: str | None,
    ) -> tuple[Order, list[OrderLine]]:
        """The order row, its lines (one INSERT), the coupon's use and the "placed" event."""
        repo = OrderRepository(session)
        now = utcnow()
        number = order_number(await repo.next_number(), now.year)
        order = _new_order(
            settings, data, buyer, priced, number=number, now=now, client_address=client_address
        )
        session.add(order)
        await session.flush()
        lines = await repo.insert_lines(_line_values(order, to_buy, priced.quote))
        quote = priced.quote
        if quote.coupon is not None:
            await pricing.redeem(
                session,
                quote.coupon,
                order_id=order.id,
                user_id=buyer.user_id,
                email=buyer.contact["email"],
                discount_minor=quote.totals.discount_minor,
            )
        add_event(session, order, "placed", actor_user_id=buyer.user_id, to_status=OrderStatus.PENDING)
        return order, lines

    async def _after_placed(
        self,
        session: AsyncSession,
        settings: Settings,
        key: _Key,
        order: Order,
        to_buy: CartToBuy,
        quote: Quote,
    ) -> None:
        """Complete the key (a retry now replays this order), empty the cart, queue the confirmation
        e-mail and run the hooks of a placed order."""
        if key.key is not None:
            await idempotency.complete(
                session, scope=key.scope, operation=OPERATION, key=key.key, resource_id=order.id
            )
        await carts.clear(session, settings, to_buy.cart)
        notices.placed(session, settings, order, _confirmation_context(settings, order, to_buy, quote))
        for hook in PLACED_HOOKS:
            await hook(session, settings, order)
        await session.flush()

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


def _new_order(
    settings: Settings,
    data: schemas.OrderCreate,
    buyer: _Buyer,
    priced: _Priced,
    *,
    number: str,
    now: datetime,
    client_address: str | None,
) -> Order:
    """The order row as placed: pending, awaiting payment, its stock reserved, its figures the quote's."""
    quote, totals, coupon = priced.quote, priced.quote.totals, priced.quote.coupon
    billing = _address_dict(data.billing_address) if data.billing_address else buyer.shipping_address
    return Order(
        number=number,
        user_id=buyer.user_id,
        contact_name=buyer.contact["name"],
        contact_email=buyer.contact["email"],
        contact_phone=buyer.contact["phone"],
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
        coupon_id=coupon.id if coupon else None,
        coupon_code=coupon.code if coupon else None,
        shipping_method_id=priced.shipping_method.id,
        shipping_method_name=priced.shipping_method.name,
        shipping_address=buyer.shipping_address,
        billing_address=billing,
        customer_note=data.note,
        expires_at=limits.deadline(settings, data.payment_method, now),
        client_address=client_address,
    )


def _line_values(order: Order, to_buy: CartToBuy, quote: Quote) -> list[dict[str, Any]]:
    """The order's lines as the cart holds them now, with each line's share of the quote's figures."""
    by_variant = {line.variant_id: line for line in quote.totals.lines}
    return [
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
            "stock_draw": row.stock_draw,
            "unit_price_minor": row.variant.price_minor,
            "subtotal_minor": by_variant[row.variant.id].subtotal_minor,
            "discount_minor": by_variant[row.variant.id].discount_minor,
            "tax_minor": by_variant[row.variant.id].tax_minor,
            "total_minor": by_variant[row.variant.id].total_minor,
            "tax_rate_ppm": quote.tax_rate_ppm,
        }
        for row in to_buy.lines
    ]


def _confirmation_context(
    settings: Settings, order: Order, to_buy: CartToBuy, quote: Quote
) -> dict[str, Any]:
    totals = quote.totals

    def money(minor: int) -> str:
        return f"{from_minor(minor, order.currency):f} {order.currency}"

    return {
        "shop_name": settings.shop_name,
        "contact_email": settings.contact_email,
        "name": order.contact_name,
        "number": order.number,
        "lines": [
            {
                "name": line_name(row.product.name, row.variant.name),
                "quantity": row.item.quantity,
                "total": money(row.item.quantity * row.variant.price_minor),
            }
            for row in to_buy.lines
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
