"""Request and response bodies of the wishlist API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from emporium.core.money import DecimalAmount
from emporium.core.params import MAX_ID
from emporium.core.schemas import InputModel

# Re-exported: pages name the limits and the visibilities through the schemas, never the models.
from emporium.wishlists.models import MAX_ITEMS as MAX_ITEMS
from emporium.wishlists.models import MAX_LISTS as MAX_LISTS
from emporium.wishlists.models import NAME_MAX as NAME_MAX
from emporium.wishlists.models import Visibility as Visibility

Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
# A list's name: shown back as text everywhere, so any printable text is fine; control characters are not.
ListName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=NAME_MAX, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]


class Availability(StrEnum):
    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"
    SOLD_OUT = "sold_out"
    UNAVAILABLE = "unavailable"


class ItemAdd(InputModel):
    product_id: Id
    variant_id: Id | None = None
    # Without it, the default list (made on the first add).
    list_id: Id | None = None


class ListCreate(InputModel):
    name: ListName


class ListUpdate(InputModel):
    name: ListName | None = None
    # "private" stops the share link; "link" and "public" need one (POST .../share makes it).
    visibility: Visibility | None = None


class ShareCreate(InputModel):
    visibility: Literal["link", "public"] = "link"


class WishlistItemRead(BaseModel):
    id: int
    product_id: int
    product_name: str
    product_slug: str
    variant_id: int | None
    variant_name: str | None
    # True when the shopper chose this option; else it is the product's default.
    variant_chosen: bool
    currency: str
    price: DecimalAmount | None
    price_when_added: DecimalAmount
    # True when the price now is lower than when the item was added ("was X, now Y").
    price_dropped: bool
    availability: Availability
    units_available: int
    message: str
    added_at: datetime


class WishlistRead(BaseModel):
    id: int | None
    name: str
    is_default: bool
    visibility: Visibility
    shared: bool
    item_count: int
    items: list[WishlistItemRead]


class WishlistSummary(BaseModel):
    id: int
    name: str
    is_default: bool
    visibility: Visibility
    shared: bool
    item_count: int


class SharedWishlistRead(BaseModel):
    """What a visitor of a shared list sees: its name and items, nothing about its owner."""

    name: str
    items: list[WishlistItemRead]


class ShareRead(BaseModel):
    url: str
    token: str
    visibility: Visibility


class MovedToCart(BaseModel):
    message: str
    variant_id: int
    wishlist: WishlistRead
