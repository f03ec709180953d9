"""The error codes of product images. Clients match on these strings; a value never changes once
published. An image of a product that does not exist says PRODUCT_NOT_FOUND (the catalog's code)."""

from __future__ import annotations

from enum import StrEnum


class MediaError(StrEnum):
    IMAGE_NOT_FOUND = "IMAGE_NOT_FOUND"
    # A file under the local media path that is not there.
    MEDIA_NOT_FOUND = "MEDIA_NOT_FOUND"
    DUPLICATE_IMAGE = "DUPLICATE_IMAGE"
    TOO_MANY_IMAGES = "TOO_MANY_IMAGES"
    INVALID_VARIANT = "INVALID_VARIANT"
    IMAGE_ORDER_INCOMPLETE = "IMAGE_ORDER_INCOMPLETE"
    PRODUCT_CHANGED = "PRODUCT_CHANGED"
    STORAGE_UNAVAILABLE = "STORAGE_UNAVAILABLE"
    # The uploaded file itself.
    EMPTY_FILE = "EMPTY_FILE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    UNSUPPORTED_IMAGE = "UNSUPPORTED_IMAGE"
