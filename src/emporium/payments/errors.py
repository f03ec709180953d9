"""The error codes of payments. Clients match on these strings; a value never changes once published.
A payment of an order that does not exist says ORDER_NOT_FOUND, and an unoffered method
PAYMENT_METHOD_UNAVAILABLE (the orders' codes); card data says CARD_DATA_REFUSED (core/card_numbers.py)."""

from __future__ import annotations

from enum import StrEnum


class PaymentError(StrEnum):
    PAYMENT_NOT_FOUND = "PAYMENT_NOT_FOUND"
    PAYMENT_NOT_POSSIBLE = "PAYMENT_NOT_POSSIBLE"
    PAYMENT_VERIFICATION_FAILED = "PAYMENT_VERIFICATION_FAILED"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    REFUND_EXCEEDS_CAPTURED = "REFUND_EXCEEDS_CAPTURED"
    WEBHOOK_INVALID = "WEBHOOK_INVALID"
