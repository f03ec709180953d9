"""The error codes of inventory: stock pools and reservations. Clients match on these strings; a value
never changes once published."""

from __future__ import annotations

from enum import StrEnum


class InventoryError(StrEnum):
    POOL_NOT_FOUND = "POOL_NOT_FOUND"
    # The stock screens of a product that does not exist (the catalog answers the same code).
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    POOL_NOT_IN_PRODUCT = "POOL_NOT_IN_PRODUCT"
    STOCK_BELOW_RESERVED = "STOCK_BELOW_RESERVED"
    # Also what a cart line short of stock shows.
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
