"""The error codes of inventory: stock pools and reservations. Clients match on these strings; a value
never changes once published."""

from __future__ import annotations

from enum import StrEnum


class InventoryError(StrEnum):
    POOL_NOT_FOUND = "POOL_NOT_FOUND"
    POOL_NOT_IN_PRODUCT = "POOL_NOT_IN_PRODUCT"
    STOCK_BELOW_RESERVED = "STOCK_BELOW_RESERVED"
    # Also what a cart line short of stock shows.
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
