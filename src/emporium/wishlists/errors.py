"""The error codes of wishlists. Clients match on these strings; a value never changes once published."""

from __future__ import annotations

from enum import StrEnum


class WishlistError(StrEnum):
    WISHLIST_NOT_FOUND = "WISHLIST_NOT_FOUND"
    WISHLIST_ITEM_NOT_FOUND = "WISHLIST_ITEM_NOT_FOUND"
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    VARIANT_NOT_FOUND = "VARIANT_NOT_FOUND"
    NOT_FOR_SALE = "NOT_FOR_SALE"
    SOLD_OUT = "SOLD_OUT"
    DEFAULT_LIST_KEPT = "DEFAULT_LIST_KEPT"
    TOO_MANY_LISTS = "TOO_MANY_LISTS"
    LIST_FULL = "LIST_FULL"
    NO_SHARE_LINK = "NO_SHARE_LINK"
