"""Wishlist rules: whose list it is, what adding, moving and sharing do, and what a list shows.

A customer has named lists, one of them the default (made on the first add); a guest has one list, found
by the digest of a random token the browser keeps (X-Wishlist-Token header or wishlist_token cookie), as a
guest cart is. At sign-in the guest's list joins the customer's default list, one line per product. A list
shared by link is found by the digest of a 128-bit token; a new link replaces the old, and revoking it makes
the old link answer 404.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.cart import schemas as cart_schemas
from emporium.cart.service import carts
from emporium.catalog.models import ProductStatus
from emporium.catalog.names import line_name
from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.errors import Conflict, EmporiumError, NotFound, ValidationFailed
from emporium.core.money import from_minor
from emporium.inventory.availability import units_available
from emporium.wishlists import schemas
from emporium.wishlists.errors import WishlistError
from emporium.wishlists.models import MAX_ITEMS, MAX_LISTS, Visibility, Wishlist, WishlistItem
from emporium.wishlists.repository import ItemRow, WishlistRepository

WISHLIST_TOKEN_HEADER = "X-Wishlist-Token"  # noqa: S105 - a header name
WISHLIST_TOKEN_COOKIE = "wishlist_token"  # noqa: S105 - a cookie name
GUEST_LIST_DAYS = 180
DEFAULT_NAME = "Wishlist"
SHARE_PATH = "/wishlist/shared/"
# secrets.token_urlsafe(16): 128 random bits in 22 characters.
_SHARE_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class WishlistOwner:
    """A signed-in customer (``user_id``), else the guest whose list ``token`` names (maybe none yet)."""

    user_id: int | None
    token: str | None

    @property
    def digest(self) -> str | None:
        return token_digest(self.token) if self.user_id is None and self.token else None

    @property
    def known(self) -> bool:
        return self.user_id is not None or self.token is not None


def list_not_found() -> NotFound:
    return NotFound("No such wishlist.", code=WishlistError.WISHLIST_NOT_FOUND)


def item_not_found() -> NotFound:
    return NotFound("No such item on your wishlist.", code=WishlistError.WISHLIST_ITEM_NOT_FOUND)


def _availability(row: ItemRow) -> tuple[schemas.Availability, int, str]:
    variant, pool = row.variant, row.pool
    if row.product.status != ProductStatus.ACTIVE or variant is None or pool is None or not variant.is_active:
        return schemas.Availability.UNAVAILABLE, 0, "No longer for sale."
    units = units_available(pool.on_hand, pool.reserved, variant.draw_per_unit)
    if units < 1:
        return schemas.Availability.SOLD_OUT, 0, "Sold out."
    if units <= pool.low_stock_threshold:
        return schemas.Availability.LOW_STOCK, units, f"Only {units} left."
    return schemas.Availability.IN_STOCK, units, "In stock."


def item_read(settings: Settings, row: ItemRow) -> schemas.WishlistItemRead:
    currency = settings.currency
    item, variant = row.item, row.variant
    availability, units, message = _availability(row)
    price = variant.price_minor if variant is not None else None
    return schemas.WishlistItemRead(
        id=item.id,
        product_id=row.product.id,
        product_name=row.product.name,
        product_slug=row.product.slug,
        variant_id=variant.id if variant is not None else None,
        variant_name=variant.name if variant is not None else None,
        variant_chosen=item.variant_id is not None,
        currency=currency,
        price=from_minor(price, currency) if price is not None else None,
        price_when_added=from_minor(item.price_added_minor, currency),
        price_dropped=price is not None and price < item.price_added_minor,
        availability=availability,
        units_available=units,
        message=message,
        added_at=item.created_at,
    )


class WishlistService:
    # Finding lists ------------------------------------------------------------------------------------

    async def find_default(self, session: AsyncSession, owner: WishlistOwner) -> Wishlist | None:
        """The caller's default list, or None (one statement; none at all for an unknown guest)."""
        if not owner.known:
            return None
        return await WishlistRepository(session).default_list(
            user_id=owner.user_id, token_digest=owner.digest, now=utcnow()
        )

    async def default_for_change(
        self, session: AsyncSession, owner: WishlistOwner
    ) -> tuple[Wishlist, str | None]:
        """The caller's default list, made when missing; the new guest token when one was made."""
        found = await self.find_default(session, owner)
        now = utcnow()
        if found is not None:
            if found.user_id is None:
                found.expires_at = now + timedelta(days=GUEST_LIST_DAYS)
            return found, None
        made: str | None = None
        if owner.user_id is not None:
            wishlist = Wishlist(user_id=owner.user_id, name=DEFAULT_NAME, is_default=True)
        else:
            made = secrets.token_urlsafe(32)
            wishlist = Wishlist(
                token_hash=token_digest(made),
                name=DEFAULT_NAME,
                is_default=True,
                expires_at=now + timedelta(days=GUEST_LIST_DAYS),
            )
        wishlist.visibility = Visibility.PRIVATE
        session.add(wishlist)
        await self._flush(session)
        return wishlist, made

    async def owned_list(self, session: AsyncSession, owner: WishlistOwner, list_id: int) -> Wishlist:
        """One of the caller's lists; another's, or none, is a 404 (its existence is never told)."""
        found = None
        if owner.known:
            found = await WishlistRepository(session).list_of(
                user_id=owner.user_id, token_digest=owner.digest, list_id=list_id
            )
        if found is None:
            raise list_not_found()
        return found

    async def _flush(self, session: AsyncSession) -> None:
        try:
            await session.flush()
        except IntegrityError as exc:  # the same list or line made at once by another request
            raise Conflict("Your wishlist changed meanwhile; try again.") from exc

    # Items --------------------------------------------------------------------------------------------

    async def add(
        self, session: AsyncSession, owner: WishlistOwner, data: schemas.ItemAdd
    ) -> tuple[Wishlist, WishlistItem, str | None]:
        """Put a product (with a chosen variant, or its default) on a list; a product already there stays
        one line (a newly chosen variant replaces the old choice). Returns the list, the line and the new
        guest token when one was made."""
        repo = WishlistRepository(session)
        found = await repo.product_and_variant(data.product_id, data.variant_id)
        if found is None or found[0].status != ProductStatus.ACTIVE:
            if data.variant_id is not None and found is None:
                raise NotFound(
                    "No such option of this product.",
                    code=WishlistError.VARIANT_NOT_FOUND,
                    details=[{"field": "variant_id", "message": "not an option of this product"}],
                )
            raise NotFound(
                "No such product.", code=WishlistError.PRODUCT_NOT_FOUND, details=[{"field": "product_id"}]
            )
        product, variant = found
        if variant is None or not variant.is_active:
            raise ValidationFailed("This product is not for sale.", code=WishlistError.NOT_FOR_SALE)
        if data.list_id is not None:
            wishlist, made = await self.owned_list(session, owner, data.list_id), None
        else:
            wishlist, made = await self.default_for_change(session, owner)
        item = await repo.item_for_product(wishlist.id, product.id)
        if item is None:
            if await repo.count_items(wishlist.id) >= MAX_ITEMS:
                raise Conflict(f"A list holds at most {MAX_ITEMS} products.", code=WishlistError.LIST_FULL)
            item = WishlistItem(
                wishlist_id=wishlist.id,
                product_id=product.id,
                variant_id=data.variant_id,
                price_added_minor=variant.price_minor,
            )
            session.add(item)
        elif data.variant_id is not None and item.variant_id != data.variant_id:
            item.variant_id, item.price_added_minor = data.variant_id, variant.price_minor
        await self._flush(session)
        return wishlist, item, made

    async def remove_item(self, session: AsyncSession, owner: WishlistOwner, item_id: int) -> int:
        """Take one of the caller's items off its list; the list's id."""
        row = await self._row(session, owner, item_id)
        await session.delete(row.item)
        await session.flush()
        return row.item.wishlist_id

    async def remove_product(self, session: AsyncSession, owner: WishlistOwner, product_id: int) -> None:
        """The heart pressed again: the product leaves the default list (nothing happens when it is not
        there)."""
        wishlist = await self.find_default(session, owner)
        if wishlist is None:
            return
        item = await WishlistRepository(session).item_for_product(wishlist.id, product_id)
        if item is not None:
            await session.delete(item)
            await session.flush()

    async def _row(self, session: AsyncSession, owner: WishlistOwner, item_id: int) -> ItemRow:
        row = None
        if owner.known:
            row = await WishlistRepository(session).item_row(
                user_id=owner.user_id, token_digest=owner.digest, item_id=item_id
            )
        if row is None:
            raise item_not_found()
        return row

    async def move_to_cart(
        self,
        session: AsyncSession,
        settings: Settings,
        owner: WishlistOwner,
        item_id: int,
        *,
        cart_token: str | None,
    ) -> tuple[str, int, int, str | None]:
        """One of the item's variant goes into the cart (through the cart service, which checks stock)
        and the item leaves the list. A sold-out item, or one no longer for sale, stays on the list and
        the refusal says so. Returns the message, the variant, the list and the new guest cart token."""
        row = await self._row(session, owner, item_id)
        chosen = row.variant.name if row.variant is not None and row.item.variant_id is not None else None
        name = line_name(row.product.name, chosen)
        availability, _, _ = _availability(row)
        if availability == schemas.Availability.UNAVAILABLE or row.variant is None:
            raise Conflict(
                f"{name} is no longer for sale; it stays on your wishlist.", code=WishlistError.NOT_FOR_SALE
            )
        if availability == schemas.Availability.SOLD_OUT:
            raise Conflict(
                f"{name} is sold out; it stays on your wishlist.",
                code=WishlistError.SOLD_OUT,
                details=[{"field": "item_id", "message": "sold out"}],
            )
        cart, made = await carts.get_or_create(session, settings, user_id=owner.user_id, token=cart_token)
        try:
            await carts.add(session, cart, cart_schemas.ItemAdd(variant_id=row.variant.id, quantity=1))
        except EmporiumError as exc:
            raise Conflict(
                f"{name} could not go in your cart ({exc.message}); it stays on your wishlist.",
                code=exc.code,
                details=exc.details,
            ) from exc
        await session.delete(row.item)
        await session.flush()
        return f"{name} is in your cart now.", row.variant.id, row.item.wishlist_id, made

    # Reading ------------------------------------------------------------------------------------------

    async def view(
        self, session: AsyncSession, settings: Settings, wishlist: Wishlist | None
    ) -> schemas.WishlistRead:
        """A list with its items, their prices now and when added, and their availability: one statement
        whatever the number of items."""
        if wishlist is None:
            return schemas.WishlistRead(
                id=None,
                name=DEFAULT_NAME,
                is_default=True,
                visibility=Visibility.PRIVATE,
                shared=False,
                item_count=0,
                items=[],
            )
        items = [item_read(settings, row) for row in await WishlistRepository(session).rows(wishlist.id)]
        return schemas.WishlistRead(
            id=wishlist.id,
            name=wishlist.name,
            is_default=wishlist.is_default,
            visibility=Visibility(wishlist.visibility),
            shared=wishlist.share_token_hash is not None,
            item_count=len(items),
            items=items,
        )

    async def find_and_view(
        self, session: AsyncSession, settings: Settings, owner: WishlistOwner
    ) -> schemas.WishlistRead:
        return await self.view(session, settings, await self.find_default(session, owner))

    async def wishlisted(
        self, session: AsyncSession, owner: WishlistOwner, product_ids: list[int]
    ) -> set[int]:
        """Which of ``product_ids`` are on the caller's default list: one statement, none for a browser
        that has no list or for no products."""
        if not owner.known or not product_ids:
            return set()
        return await WishlistRepository(session).product_ids_in_default(
            user_id=owner.user_id, token_digest=owner.digest, product_ids=product_ids, now=utcnow()
        )

    async def shared(
        self, session: AsyncSession, settings: Settings, token: str
    ) -> tuple[schemas.SharedWishlistRead, Visibility]:
        """A list by its share link: its name and items only. A link never made, revoked or replaced is a
        404, as is anything that is not a token's shape (without asking the database)."""
        found = None
        if _SHARE_TOKEN.fullmatch(token):
            found = await WishlistRepository(session).list_by_share(token_digest(token))
        if found is None:
            raise list_not_found()
        rows = await WishlistRepository(session).rows(found.id)
        read = schemas.SharedWishlistRead(name=found.name, items=[item_read(settings, row) for row in rows])
        return read, Visibility(found.visibility)

    # A customer's lists -------------------------------------------------------------------------------

    async def lists(self, session: AsyncSession, user_id: int) -> list[schemas.WishlistSummary]:
        return [
            schemas.WishlistSummary(
                id=w.id,
                name=w.name,
                is_default=w.is_default,
                visibility=Visibility(w.visibility),
                shared=w.share_token_hash is not None,
                item_count=count,
            )
            for w, count in await WishlistRepository(session).lists_of_user(user_id)
        ]

    async def create_list(self, session: AsyncSession, user_id: int, name: str) -> Wishlist:
        """A new list; the customer's first list is their default."""
        count = await WishlistRepository(session).count_lists(user_id)
        if count >= MAX_LISTS:
            raise Conflict(f"You can keep at most {MAX_LISTS} lists.", code=WishlistError.TOO_MANY_LISTS)
        wishlist = Wishlist(user_id=user_id, name=name, is_default=count == 0, visibility=Visibility.PRIVATE)
        session.add(wishlist)
        await self._flush(session)
        return wishlist

    async def update_list(self, session: AsyncSession, wishlist: Wishlist, data: schemas.ListUpdate) -> None:
        wants_link = data.visibility is not None and data.visibility != Visibility.PRIVATE
        if wants_link and wishlist.share_token_hash is None:
            raise Conflict(
                "Make a share link first.",
                code=WishlistError.NO_SHARE_LINK,
                details=[{"field": "visibility", "message": "the list has no share link"}],
            )
        if data.name is not None:
            wishlist.name = data.name
        if data.visibility == Visibility.PRIVATE:
            self.revoke(wishlist)
        elif data.visibility is not None:
            wishlist.visibility = data.visibility
        await session.flush()

    async def delete_list(self, session: AsyncSession, wishlist: Wishlist) -> None:
        """The default list stays while the customer has others (it is where the hearts go); deleted when
        it is the only one, the next heart makes a new one."""
        repo = WishlistRepository(session)
        if wishlist.is_default and await repo.count_lists(wishlist.user_id or 0) > 1:
            raise Conflict(
                "Your default list stays while you have other lists; delete those first.",
                code=WishlistError.DEFAULT_LIST_KEPT,
            )
        await repo.delete_list(wishlist.id)

    def share(self, settings: Settings, wishlist: Wishlist, visibility: str) -> schemas.ShareRead:
        """A new link (the old one, if any, stops working). Only its digest is stored, so the link is shown
        this once."""
        token = secrets.token_urlsafe(16)
        wishlist.share_token_hash = token_digest(token)
        wishlist.visibility = visibility
        url = settings.public_url.rstrip("/") + SHARE_PATH + token
        return schemas.ShareRead(url=url, token=token, visibility=Visibility(visibility))

    def revoke(self, wishlist: Wishlist) -> None:
        wishlist.share_token_hash = None
        wishlist.visibility = Visibility.PRIVATE

    # Sign-in, privacy, expiry -------------------------------------------------------------------------

    async def merge_guest_list(self, session: AsyncSession, *, user_id: int, token: str) -> None:
        """At sign-in: the guest list's products join the customer's default list (a product already
        there stays one line, as the customer had it), and the guest list is deleted so its token stops
        working."""
        repo = WishlistRepository(session)
        guest = await repo.default_list(user_id=None, token_digest=token_digest(token), now=utcnow())
        if guest is None or guest.user_id is not None:
            return
        incoming = await repo.rows(guest.id)
        if incoming:
            target, _ = await self.default_for_change(session, WishlistOwner(user_id=user_id, token=None))
            have = {row.item.product_id for row in await repo.rows(target.id)}
            room = MAX_ITEMS - len(have)
            for row in reversed(incoming):  # oldest first, as they were added
                if row.item.product_id in have or room <= 0:
                    continue
                session.add(
                    WishlistItem(
                        wishlist_id=target.id,
                        product_id=row.item.product_id,
                        variant_id=row.item.variant_id,
                        price_added_minor=row.item.price_added_minor,
                    )
                )
                have.add(row.item.product_id)
                room -= 1
            await self._flush(session)
        await repo.delete_list(guest.id)

    async def export(self, session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
        lists: dict[int, dict[str, Any]] = {}
        for wishlist, item in await WishlistRepository(session).items_of_user(user_id):
            entry = lists.setdefault(
                wishlist.id,
                {
                    "id": wishlist.id,
                    "name": wishlist.name,
                    "is_default": wishlist.is_default,
                    "visibility": wishlist.visibility,
                    "shared_by_link": wishlist.share_token_hash is not None,
                    "created_at": wishlist.created_at.isoformat(),
                    "items": [],
                },
            )
            if item is not None:
                entry["items"].append(
                    {
                        "product_id": item.product_id,
                        "variant_id": item.variant_id,
                        "price_when_added_minor": item.price_added_minor,
                        "added_at": item.created_at.isoformat(),
                    }
                )
        return list(lists.values())

    async def erase(self, session: AsyncSession, user_id: int) -> None:
        await WishlistRepository(session).delete_lists_of_user(user_id)

    async def remove_expired(self, session: AsyncSession, limit: int) -> int:
        return await WishlistRepository(session).delete_expired(utcnow(), limit)


wishlists = WishlistService()
