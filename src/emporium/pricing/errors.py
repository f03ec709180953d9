"""The error codes of pricing: coupons, tax rates and shipping. Clients match on these strings; a value
never changes once published."""

from __future__ import annotations

from enum import StrEnum


class PricingError(StrEnum):
    COUPON_NOT_FOUND = "COUPON_NOT_FOUND"
    COUPON_CODE_TAKEN = "COUPON_CODE_TAKEN"
    COUPON_NOT_APPLICABLE = "COUPON_NOT_APPLICABLE"
    COUPON_EXHAUSTED = "COUPON_EXHAUSTED"
    USAGE_LIMIT_BELOW_USES = "USAGE_LIMIT_BELOW_USES"
    TAX_RATE_NOT_FOUND = "TAX_RATE_NOT_FOUND"
    TAX_RATE_EXISTS = "TAX_RATE_EXISTS"
    ZONE_NOT_FOUND = "ZONE_NOT_FOUND"
    ZONE_NAME_TAKEN = "ZONE_NAME_TAKEN"
    SHIPPING_METHOD_NOT_FOUND = "SHIPPING_METHOD_NOT_FOUND"
    SHIPPING_METHOD_UNAVAILABLE = "SHIPPING_METHOD_UNAVAILABLE"
