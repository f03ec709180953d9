"""What shoppers and staff read for the codes an order carries: its status, its payment status and its
payment method. Pages, e-mails and documents say these names, never the codes.

The payment methods' names are the gateways' own titles (a test holds the two equal); they live here, below
the payments domain, so that orders, its e-mails and its documents can name a method without importing it.
"""

from __future__ import annotations

ORDER_STATUS_NAMES = {
    "pending": "Pending",
    "confirmed": "Confirmed",
    "processing": "Processing",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "cancelled": "Cancelled",
    "returned": "Returned",
    "refunded": "Refunded",
    "partially_refunded": "Partly refunded",
}

PAYMENT_STATUS_NAMES = {
    "awaiting": "Awaiting payment",
    "pending_verification": "Awaiting verification",
    "authorized": "Authorized",
    "paid": "Paid",
    "partially_refunded": "Partly refunded",
    "refunded": "Refunded",
    "failed": "Payment failed",
}

PAYMENT_METHOD_NAMES = {
    "test": "Card (test mode)",
    "stripe": "Card (Stripe)",
    "razorpay": "Razorpay (UPI, cards, netbanking, wallets)",
    "paypal": "PayPal",
    "bitcoin": "Bitcoin",
    "litecoin": "Litecoin",
    "lightning": "Bitcoin over Lightning",
    "cash_on_delivery": "Cash on delivery",
    "bank_transfer": "Bank transfer",
    "none": "Not chosen",
}


def _fallback(code: str) -> str:
    """A code no table knows yet still reads as words, not as an identifier."""
    return code.replace("_", " ").strip().capitalize()


def order_status_name(code: object) -> str:
    """``"partially_refunded"`` → ``"Partly refunded"``; takes the enum member or its value."""
    value = str(getattr(code, "value", code))
    return ORDER_STATUS_NAMES.get(value) or _fallback(value)


def payment_status_name(code: object) -> str:
    value = str(getattr(code, "value", code))
    return PAYMENT_STATUS_NAMES.get(value) or _fallback(value)


def payment_method_name(code: object) -> str:
    """``"cash_on_delivery"`` → ``"Cash on delivery"``."""
    value = str(getattr(code, "value", code))
    return PAYMENT_METHOD_NAMES.get(value) or _fallback(value)
