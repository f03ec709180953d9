"""Cart rules: whose cart it is, what each line can still buy, and what the cart costs now.

A signed-in customer has one cart row; a guest has one keyed by the digest of a random token that the
client keeps (X-Cart-Token header or cart_token cookie). Carts expire after a configurable number of days
without a change. Availability is checked per pool: the draws of every line on one pool (the 250 g and
1 kg boxes of one sweet) are added up against what the pool has left.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.cart import schemas
from emporium.cart.adding import Added, InsufficientStock, add_lines
from emporium.cart.errors import CartError
from emporium.cart.models import MAX_LINE_QUANTITY, Cart, CartItem
from emporium.cart.repository import CartLine, CartRepository
from emporium.catalog.models import ProductStatus, ProductVariant
from emporium.catalog.names import line_name
from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.errors import NotFound, ValidationFailed
from emporium.core.money import from_minor
from emporium.inventory.availability import units_available
from emporium.inventory.errors import InventoryError
from emporium.inventory.models import StockPool
from emporium.pricing.calculations import PricedLine
from emporium.pricing.service import Quote, pricing

CART_TOKEN_HEADER = "X-Cart-Token"  # noqa: S105 - a header name
CART_TOKEN_COOKIE = "cart_token"  # noqa: S105 - a cookie name


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class LineProblem:
    cart_item_id: int
    variant_id: int
    code: str
    message: str


def _check_room(available: int, quantity: int) -> None:
    if quantity > available:
        raise InsufficientStock(
            f"Only {available} can be added.",
            details=[{"field": "quantity", "message": f"{available} available"}],
        )


def item_not_found() -> NotFound:
    return NotFound("No such item in your cart.", code=CartError.CART_ITEM_NOT_FOUND)


def room_for(lines: Sequence[CartLine], variant: ProductVariant, pool: StockPool) -> int:
    """How many units of ``variant`` fit in its pool beside the cart's other lines on that pool."""
    others = sum(
        line.stock_draw for line in lines if line.pool.id == pool.id and line.variant.id != variant.id
    )
    return units_available(pool.on_hand, pool.reserved, variant.draw_per_unit, held=others)


def units_left(lines: Sequence[CartLine]) -> dict[int, int]:
    """For each line (by cart item id), how many units it could hold beside the other lines of its pool."""
    return {line.item.id: room_for(lines, line.variant, line.pool) for line in lines}


def line_problems(lines: Sequence[CartLine]) -> list[LineProblem]:
    """Lines that cannot be bought as they stand. Stock is handed out to lines in cart order, so when two
    lines of one pool do not both fit, the later one is named."""
    problems = []
    held: dict[int, int] = defaultdict(int)  # by pool: what the earlier lines take from it
    for line in lines:
        item, variant = line.item, line.variant
        if line.product.status != ProductStatus.ACTIVE:
            problems.append(
                LineProblem(
                    item.id, variant.id, CartError.PRODUCT_NOT_ACTIVE, "This product is not for sale."
                )
            )
            continue
        if not variant.is_active:
            problems.append(
                LineProblem(item.id, variant.id, CartError.VARIANT_INACTIVE, "This option is not for sale.")
            )
            continue
        pool = line.pool
        units = units_available(pool.on_hand, pool.reserved, variant.draw_per_unit, held=held[pool.id])
        if item.quantity > units:
            problems.append(
                LineProblem(
                    item.id, variant.id, InventoryError.INSUFFICIENT_STOCK, f"Only {units} can be bought now."
                )
            )
            continue
        held[pool.id] += line.stock_draw
    return problems


@dataclass(frozen=True)
class CartToBuy:
    """A cart as checkout reads it: its lines with the catalog rows they are priced and drawn against,
    and the lines that cannot be bought as they stand (none when the whole cart can be)."""

    cart: Cart
    lines: list[CartLine]
    problems: list[LineProblem]

    def draws(self) -> dict[int, int]:
        """What the cart takes from each pool (the lines of one pool added up), by pool id."""
        draws: dict[int, int] = defaultdict(int)
        for line in self.lines:
            draws[line.pool.id] += line.stock_draw
        return dict(draws)


class CartService:
    def _expiry(self, settings: Settings, cart_user_id: int | None, now: datetime) -> datetime:
        days = settings.cart_user_ttl_days if cart_user_id else settings.cart_guest_ttl_days
        return now + timedelta(days=days)

    async def find(
        self, session: AsyncSession, settings: Settings, *, user_id: int | None, token: str | None
    ) -> Cart | None:
        """The caller's live cart, or None (one statement). Expired carts are as good as gone."""
        repo, now = CartRepository(session), utcnow()
        if user_id is not None:
            return await repo.cart_for_user(user_id, now)
        if token:
            return await repo.cart_for_token(token_digest(token), now)
        return None

    async def get_or_create(
        self, session: AsyncSession, settings: Settings, *, user_id: int | None, token: str | None
    ) -> tuple[Cart, str | None]:
        """The caller's cart, made when missing; the new guest token when one was made (send it back)."""
        repo, now = CartRepository(session), utcnow()
        if user_id is not None or token:
            # Found and renewed in one statement.
            cart = await repo.touch_live_cart(
                user_id=user_id,
                digest=None if user_id is not None else token_digest(token or ""),
                now=now,
                expires_at=self._expiry(settings, user_id, now),
            )
            if cart is not None:
                return cart, None
        if user_id is not None:
            stale = await repo.any_cart_of_user(user_id)
            if stale is not None:  # an expired cart comes back empty
                await repo.clear(stale.id, self._expiry(settings, user_id, now))
                stale.coupon_code, stale.expires_at = None, self._expiry(settings, user_id, now)
                return stale, None
            cart = Cart(user_id=user_id, expires_at=self._expiry(settings, user_id, now))
            session.add(cart)
            await session.flush()
            return cart, None
        made = new_token()
        cart = Cart(token_hash=token_digest(made), expires_at=self._expiry(settings, None, now))
        session.add(cart)
        await session.flush()
        return cart, made

    def priced_lines(self, lines: Sequence[CartLine]) -> list[PricedLine]:
        return [
            PricedLine(
                variant_id=line.variant.id,
                product_id=line.product.id,
                category_path=line.category_path,
                unit_price_minor=line.variant.price_minor,
                quantity=line.item.quantity,
                weight_grams=line.variant.weight_grams,
            )
            for line in lines
        ]

    async def to_buy(
        self, session: AsyncSession, settings: Settings, *, user_id: int | None, token: str | None
    ) -> CartToBuy | None:
        """The caller's cart as checkout buys it (two statements); None when there is no cart or nothing
        in it."""
        cart = await self.find(session, settings, user_id=user_id, token=token)
        lines = await CartRepository(session).lines(cart.id) if cart is not None else []
        if cart is None or not lines:
            return None
        return CartToBuy(cart, lines, line_problems(lines))

    async def clear(self, session: AsyncSession, settings: Settings, cart: Cart) -> None:
        await CartRepository(session).clear(cart.id, self._expiry(settings, cart.user_id, utcnow()))

    async def add(self, session: AsyncSession, cart: Cart, data: schemas.ItemAdd) -> list[CartLine]:
        """Add one variant (or a product's default variant); a variant already in the cart adds up. The
        cart's lines after it."""
        return (await add_lines(session, cart, [data], many=False)).lines

    async def add_lines(
        self, session: AsyncSession, cart: Cart, lines: Sequence[schemas.ItemAdd], *, keep_going: bool = False
    ) -> Added:
        """Add several lines in one read and one write (see cart/adding.py): all or nothing, or with
        ``keep_going`` every line that can be had, naming the rest."""
        return await add_lines(session, cart, lines, many=True, keep_going=keep_going)

    async def add_and_view(
        self,
        session: AsyncSession,
        settings: Settings,
        cart: Cart,
        data: schemas.CartAdd,
        *,
        user_id: int | None,
    ) -> schemas.CartRead:
        """``POST /cart/items``: the lines go in, and the cart is shown from what was read and written
        (nothing is read twice)."""
        added = await add_lines(session, cart, data.lines(), many=data.many)
        return await self._quote_and_read(session, settings, cart, added.lines, user_id=user_id)

    async def update(self, session: AsyncSession, cart: Cart, item_id: int, data: schemas.ItemUpdate) -> None:
        lines = await CartRepository(session).lines(cart.id)
        line = next((line for line in lines if line.item.id == item_id), None)
        if line is None:
            raise item_not_found()
        if line.product.status != ProductStatus.ACTIVE or not line.variant.is_active:
            raise ValidationFailed(
                "This product is not for sale any more; remove it.", code=CartError.NOT_FOR_SALE
            )
        _check_room(room_for(lines, line.variant, line.pool), data.quantity)
        line.item.quantity = data.quantity
        line.item.price_seen_minor = line.variant.price_minor  # the shopper has now seen the current price
        await session.flush()

    async def remove(self, session: AsyncSession, cart: Cart, item_id: int) -> None:
        item = await CartRepository(session).item(cart.id, item_id)
        if item is None:
            raise item_not_found()
        await session.delete(item)
        await session.flush()

    async def empty(self, session: AsyncSession, cart: Cart) -> None:
        await CartRepository(session).empty(cart.id)
        cart.coupon_code = None

    async def correct(self, session: AsyncSession, cart: Cart, *, drop_coupon: bool) -> list[str]:
        """After a refused checkout: make the cart buyable as it stands and say what changed. A line that
        cannot be sold is removed, a line short of stock is capped to what is left (removed at none), and
        the coupon is taken off when ``drop_coupon``."""
        lines = await CartRepository(session).lines(cart.id)
        told: list[str] = []
        for problem in line_problems(lines):
            line = next(x for x in lines if x.item.id == problem.cart_item_id)
            name = line_name(line.product.name, line.variant.name)
            room = (
                room_for(lines, line.variant, line.pool)
                if problem.code == InventoryError.INSUFFICIENT_STOCK
                else 0
            )
            if room >= 1:
                told.append(f"{name}: only {room} left, so your cart now holds {room}.")
                line.item.quantity = room
            else:
                told.append(f"{name} is no longer available and was removed from your cart.")
                await session.delete(line.item)
                lines.remove(line)
        if drop_coupon and cart.coupon_code:
            told.append(f"Coupon {cart.coupon_code} was removed from your cart.")
            cart.coupon_code = None
        await session.flush()
        return told

    async def apply_coupon(
        self, session: AsyncSession, settings: Settings, cart: Cart, code: str, *, user_id: int | None
    ) -> None:
        lines = await CartRepository(session).lines(cart.id)
        coupon = await pricing.check_coupon(
            session, settings, code, self.priced_lines(lines), user_id=user_id, email=None
        )
        cart.coupon_code = coupon.code

    async def merge_guest_cart(
        self, session: AsyncSession, settings: Settings, *, user_id: int, token: str
    ) -> None:
        """At sign-in: the guest cart's lines join the customer's cart (quantities added, capped by what is
        available), and the guest cart is deleted so its token stops working."""
        repo = CartRepository(session)
        guest = await repo.cart_for_token(token_digest(token), utcnow())
        if guest is None or guest.user_id is not None:
            return
        guest_lines = await repo.lines(guest.id)
        cart, _ = await self.get_or_create(session, settings, user_id=user_id, token=None)
        lines = await repo.lines(cart.id)
        for incoming in guest_lines:
            if incoming.product.status != ProductStatus.ACTIVE or not incoming.variant.is_active:
                continue
            mine = next((line for line in lines if line.variant.id == incoming.variant.id), None)
            room = room_for(lines, incoming.variant, incoming.pool)
            held = mine.item.quantity if mine else 0
            # Never less than the customer already had; more only as far as the stock allows.
            quantity = max(held, min(held + incoming.item.quantity, MAX_LINE_QUANTITY, room))
            if mine is not None:
                mine.item.quantity = quantity
            elif quantity >= 1:
                item = CartItem(
                    cart_id=cart.id,
                    variant_id=incoming.variant.id,
                    quantity=quantity,
                    price_seen_minor=incoming.item.price_seen_minor,
                )
                session.add(item)
                lines.append(
                    CartLine(item, incoming.variant, incoming.product, incoming.pool, incoming.category_path)
                )
        if cart.coupon_code is None and guest.coupon_code:
            cart.coupon_code = guest.coupon_code
        await session.flush()
        await repo.delete_cart(guest.id)

    async def view(
        self,
        session: AsyncSession,
        settings: Settings,
        cart: Cart | None,
        *,
        user_id: int | None,
        country: str | None = None,
        region: str | None = None,
        shipping_method_id: int | None = None,
    ) -> schemas.CartRead:
        lines = await CartRepository(session).lines(cart.id) if cart is not None else []
        return await self._quote_and_read(
            session,
            settings,
            cart,
            lines,
            user_id=user_id,
            country=country,
            region=region,
            shipping_method_id=shipping_method_id,
        )

    async def _quote_and_read(
        self,
        session: AsyncSession,
        settings: Settings,
        cart: Cart | None,
        lines: list[CartLine],
        *,
        user_id: int | None,
        country: str | None = None,
        region: str | None = None,
        shipping_method_id: int | None = None,
    ) -> schemas.CartRead:
        priced = self.priced_lines(lines)
        quote = await pricing.quote(
            session,
            settings,
            priced,
            coupon_code=cart.coupon_code if cart is not None else None,
            country=country,
            region=region,
            shipping_method_id=shipping_method_id,
            user_id=user_id,
            email=None,
        )
        return self._read(settings, cart, lines, quote)

    def read_priced(
        self, settings: Settings, cart: Cart | None, lines: list[CartLine], quote: Quote
    ) -> schemas.CartRead:
        """The cart as ``view`` shows it, from lines and a quote the caller already has."""
        return self._read(settings, cart, lines, quote)

    def _read(
        self, settings: Settings, cart: Cart | None, lines: list[CartLine], quote: Quote
    ) -> schemas.CartRead:
        currency = settings.currency
        problems = {p.cart_item_id: p for p in line_problems(lines)}
        left = units_left(lines)
        items, notices = [], []
        for line in lines:
            item, variant = line.item, line.variant
            line_notices = []
            if variant.price_minor != item.price_seen_minor:
                before, now = (
                    from_minor(item.price_seen_minor, currency),
                    from_minor(variant.price_minor, currency),
                )
                line_notices.append(f"The price changed from {before:f} to {now:f} {currency}.")
            problem = problems.get(item.id)
            if problem is not None:
                line_notices.append(problem.message)
            notices += [f"{line.product.name}: {n}" for n in line_notices]
            items.append(
                schemas.CartLineRead(
                    id=item.id,
                    variant_id=variant.id,
                    product_id=line.product.id,
                    product_name=line.product.name,
                    product_slug=line.product.slug,
                    variant_name=variant.name,
                    sku=variant.sku,
                    options=variant.options,
                    quantity=item.quantity,
                    unit_price=from_minor(variant.price_minor, currency),
                    line_total=from_minor(variant.price_minor * item.quantity, currency),
                    units_available=left[item.id]
                    if problem is None or problem.code == InventoryError.INSUFFICIENT_STOCK
                    else 0,
                    purchasable=problem is None,
                    notices=line_notices,
                )
            )
        totals = quote.totals
        coupon = None
        if cart is not None and cart.coupon_code:
            coupon = schemas.CouponState(
                code=cart.coupon_code, applied=quote.coupon is not None, problem=quote.coupon_problem
            )
            if quote.coupon_problem:
                notices.append(f"Coupon {cart.coupon_code}: {quote.coupon_problem}")
        return schemas.CartRead(
            id=cart.id if cart is not None else None,
            currency=currency,
            items=items,
            item_count=sum(line.item.quantity for line in lines),
            coupon=coupon,
            totals=schemas.CartTotals(
                subtotal=from_minor(totals.subtotal_minor, currency),
                discount=from_minor(totals.discount_minor, currency),
                shipping=from_minor(totals.shipping_minor, currency),
                tax=from_minor(totals.tax_minor, currency),
                total=from_minor(totals.total_minor, currency),
                prices_include_tax=quote.prices_include_tax,
            ),
            shipping_method=quote.shipping_method.name if quote.shipping_method else None,
            notices=notices,
            expires_at=cart.expires_at if cart is not None else None,
        )

    async def shipping_options(
        self, session: AsyncSession, settings: Settings, cart: Cart | None, *, country: str
    ) -> list[schemas.ShippingOptionRead]:
        lines = self.priced_lines(await CartRepository(session).lines(cart.id)) if cart is not None else []
        return [
            schemas.ShippingOptionRead(
                id=option.method.id,
                name=option.method.name,
                kind=option.method.kind,
                price=from_minor(option.price_minor, settings.currency),
                details=option.method.details or {},
            )
            for option in await pricing.shipping_options(session, lines, country=country)
        ]

    async def check(self, session: AsyncSession, cart: Cart | None) -> schemas.InventoryCheck:
        """Seed 003 validate-inventory: which lines can be bought as they stand, and why not."""
        lines = await CartRepository(session).lines(cart.id) if cart is not None else []
        problems = {p.cart_item_id: p for p in line_problems(lines)}
        left = units_left(lines)
        checks = [
            schemas.LineCheck(
                cart_item_id=line.item.id,
                variant_id=line.variant.id,
                purchasable=line.item.id not in problems,
                code=problems[line.item.id].code if line.item.id in problems else None,
                reason=problems[line.item.id].message if line.item.id in problems else None,
                units_available=left[line.item.id],
            )
            for line in lines
        ]
        return schemas.InventoryCheck(purchasable=bool(checks) and not problems, lines=checks)

    async def item_count(self, session: AsyncSession, *, user_id: int | None, token: str | None) -> int:
        """Units in the caller's live cart (a customer's, else the guest cart of ``token``): one statement."""
        digest = token_digest(token) if token else None
        return await CartRepository(session).item_count(user_id=user_id, token_digest=digest, now=utcnow())

    async def reissue_guest_token(self, session: AsyncSession, cart_id: int) -> str | None:
        """A new token for a live guest cart, the old one void (a recovery link); None if there is none."""
        made, repo = new_token(), CartRepository(session)
        return made if await repo.rekey_guest_cart(cart_id, token_digest(made), utcnow()) else None

    async def remove_expired(self, session: AsyncSession, limit: int) -> int:
        """Delete up to ``limit`` carts past their expiry (their lines go with them); how many."""
        return await CartRepository(session).delete_expired(utcnow(), limit)


carts = CartService()
