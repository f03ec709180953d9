"""The error codes of carts, and of the problems a cart line can show. Clients match on these strings; a
value never changes once published. A line short of stock says INSUFFICIENT_STOCK (inventory's code)."""

from __future__ import annotations

from enum import StrEnum


class CartError(StrEnum):
    CART_ITEM_NOT_FOUND = "CART_ITEM_NOT_FOUND"
    NOT_FOR_SALE = "NOT_FOR_SALE"
    CART_CHANGED = "CART_CHANGED"
    # Problems of a line already in the cart.
    PRODUCT_NOT_ACTIVE = "PRODUCT_NOT_ACTIVE"
    VARIANT_INACTIVE = "VARIANT_INACTIVE"
