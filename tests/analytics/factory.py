"""Orders, refunds, carts and customers written straight through the models at chosen times, so the figures
can be checked against what was written. Each order is left as the order lifecycle would leave it in that
state: an invoice number once confirmed or paid, none for one still pending or cancelled before that."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import User
from emporium.cart.models import Cart, CartItem
from emporium.catalog.models import Category
from emporium.orders.models import Order, OrderLine, OrderStatus, PaymentStatus, StockState
from emporium.payments.models import PaymentTransaction, TxKind, TxStatus
from tests.inventory.factory import Made, make_category, make_product

_serial = count(1)

# A state an order can be in, with its status and whether it was invoiced (confirmed or paid).
STATES: dict[str, tuple[OrderStatus, bool]] = {
    "pending": (OrderStatus.PENDING, False),
    "cancelled unpaid": (OrderStatus.CANCELLED, False),
    "cancelled after confirming": (OrderStatus.CANCELLED, True),
    "confirmed": (OrderStatus.CONFIRMED, True),
    "processing": (OrderStatus.PROCESSING, True),
    "shipped": (OrderStatus.SHIPPED, True),
    "delivered": (OrderStatus.DELIVERED, True),
    "returned": (OrderStatus.RETURNED, True),
    "partially refunded": (OrderStatus.PARTIALLY_REFUNDED, True),
    "refunded": (OrderStatus.REFUNDED, True),
}
PAYMENT_METHODS = ("test", "cash_on_delivery", "bank_transfer")
ADDRESS = {
    "full_name": "Ada",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


@dataclass(frozen=True)
class LineSpec:
    product: int  # index in the shop's products
    quantity: int
    total_minor: int


@dataclass(frozen=True)
class OrderSpec:
    placed: datetime
    total_minor: int
    state: str
    # ("user", n): the shop's n-th customer account; ("guest", n): guest e-mail n.
    customer: tuple[str, int]
    payment_method: str = "test"
    coupon: str | None = None
    discount_minor: int = 0
    lines: tuple[LineSpec, ...] = ()
    # (when, amount, succeeded) of each refund in the ledger; a failed one gave nothing back.
    refunds: tuple[tuple[datetime, int, bool], ...] = ()

    @property
    def is_sale(self) -> bool:
        status, invoiced = STATES[self.state]
        return invoiced and status is not OrderStatus.CANCELLED

    @property
    def customer_key(self) -> str:
        return f"{self.customer[0]}:{self.customer[1]}"


@dataclass(frozen=True)
class CartSpec:
    created: datetime
    updated: datetime
    items: int  # at most one per product of the shop (3)
    user: int | None = None


@dataclass
class Shop:
    """Three products (two categories and one without), and the customer accounts by index."""

    products: list[Made]
    categories: list[Category | None]
    users: list[User] = field(default_factory=list)


async def open_shop(session: AsyncSession, sign_ups: list[datetime]) -> Shop:
    tees, mugs = await make_category(session, "Tees"), await make_category(session, "Mugs")
    categories: list[Category | None] = [tees, mugs, None]
    products = [
        await make_product(session, f"Figure product {n}", category=category, on_hand=100)
        for n, category in enumerate(categories)
    ]
    shop = Shop(products, categories)
    for when in sign_ups:
        user = User(
            email=f"buyer-{next(_serial)}@example.com", role="customer", created_at=when, updated_at=when
        )
        session.add(user)
        shop.users.append(user)
    await session.flush()
    return shop


def guest_email(n: int) -> str:
    return f"guest-{n}@example.com"


async def add_order(session: AsyncSession, shop: Shop, spec: OrderSpec) -> Order:
    status, invoiced = STATES[spec.state]
    kind, n = spec.customer
    serial = next(_serial)
    order = Order(
        number=f"ORD-T-{serial:08d}",
        user_id=shop.users[n].id if kind == "user" else None,
        contact_name="Buyer",
        contact_email=shop.users[n].email if kind == "user" else guest_email(n),
        status=status,
        payment_status=_payment_status(invoiced, spec.payment_method),
        payment_method=spec.payment_method,
        stock_state=StockState.DEDUCTED if invoiced else StockState.RESERVED,
        currency="USD",
        subtotal_minor=spec.total_minor + spec.discount_minor,
        discount_minor=spec.discount_minor,
        total_minor=spec.total_minor,
        coupon_code=spec.coupon,
        shipping_method_name="Standard",
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
        invoice_number=f"INV-T-{serial:08d}" if invoiced else None,
        invoiced_at=spec.placed if invoiced else None,
        created_at=spec.placed,
        updated_at=spec.placed,
    )
    session.add(order)
    await session.flush()
    for line in spec.lines:
        made = shop.products[line.product]
        variant = made.variants[0]
        session.add(
            OrderLine(
                order_id=order.id,
                product_id=made.product.id,
                variant_id=variant.id,
                pool_id=made.pools[0].id,
                product_name=made.product.name,
                variant_name=variant.name,
                sku=variant.sku,
                options={},
                quantity=line.quantity,
                stock_draw=line.quantity,
                unit_price_minor=line.total_minor // line.quantity,
                subtotal_minor=line.total_minor,
                total_minor=line.total_minor,
            )
        )
    if invoiced:  # the money taken, which is no refund and no sale by itself
        session.add(_transaction(order, TxKind.CAPTURE, True, spec.total_minor, spec.placed, "capture"))
    for i, (when, amount, succeeded) in enumerate(spec.refunds):
        session.add(_transaction(order, TxKind.REFUND, succeeded, amount, when, f"refund:{i}"))
    return order


def _payment_status(invoiced: bool, method: str) -> PaymentStatus:
    if invoiced:
        return PaymentStatus.PAID
    # A bank transfer order waits for staff to see the money arrive.
    return PaymentStatus.PENDING_VERIFICATION if method == "bank_transfer" else PaymentStatus.AWAITING


def _transaction(
    order: Order, kind: TxKind, succeeded: bool, amount: int, when: datetime, key: str
) -> PaymentTransaction:
    return PaymentTransaction(
        order_id=order.id,
        kind=kind,
        status=TxStatus.SUCCEEDED if succeeded else TxStatus.FAILED,
        amount_minor=amount,
        currency="USD",
        gateway=order.payment_method,
        idempotency_key=key,
        created_at=when,
    )


async def add_cart(session: AsyncSession, shop: Shop, spec: CartSpec) -> Cart:
    cart = Cart(
        user_id=shop.users[spec.user].id if spec.user is not None else None,
        token_hash=None if spec.user is not None else f"{next(_serial):064d}",
        expires_at=spec.updated + timedelta(days=30),
        created_at=spec.created,
        updated_at=spec.updated,
    )
    session.add(cart)
    await session.flush()
    for i in range(spec.items):
        variant = shop.products[i % len(shop.products)].variants[0]
        session.add(CartItem(cart_id=cart.id, variant_id=variant.id, quantity=1, price_seen_minor=100))
    return cart
