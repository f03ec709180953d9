"""The error codes of the catalog: products, variants, categories and brands (media and CSV imports have
their own, in their packages). Clients match on these strings; a value never changes once published."""

from __future__ import annotations

from enum import StrEnum


class CatalogError(StrEnum):
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    VARIANT_NOT_FOUND = "VARIANT_NOT_FOUND"
    CATEGORY_NOT_FOUND = "CATEGORY_NOT_FOUND"
    BRAND_NOT_FOUND = "BRAND_NOT_FOUND"
    # A payload names a brand, category or stock pool that does not exist.
    UNKNOWN_BRAND = "UNKNOWN_BRAND"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"
    UNKNOWN_POOL = "UNKNOWN_POOL"
    SLUG_TAKEN = "SLUG_TAKEN"
    SKU_TAKEN = "SKU_TAKEN"
    BRAND_TAKEN = "BRAND_TAKEN"
    BRAND_IN_USE = "BRAND_IN_USE"
    CATEGORY_TOO_DEEP = "CATEGORY_TOO_DEEP"
    CATEGORY_CYCLE = "CATEGORY_CYCLE"
    CATEGORY_HAS_CHILDREN = "CATEGORY_HAS_CHILDREN"
    CATEGORY_HAS_PRODUCTS = "CATEGORY_HAS_PRODUCTS"
