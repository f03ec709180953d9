"""The error codes of orders: checkout, the order's life, invoices and guest tracking. Clients match on
these strings; a value never changes once published."""

from __future__ import annotations

from enum import StrEnum


class OrderError(StrEnum):
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    CART_EMPTY = "CART_EMPTY"
    CART_NOT_PURCHASABLE = "CART_NOT_PURCHASABLE"
    PRICE_CHANGED = "PRICE_CHANGED"
    # Checkout and payments both refuse a method the shop does not offer; payments reads it from here.
    PAYMENT_METHOD_UNAVAILABLE = "PAYMENT_METHOD_UNAVAILABLE"
    TOO_MANY_OPEN_ORDERS = "TOO_MANY_OPEN_ORDERS"
    ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION"
    ORDER_NOT_PAID = "ORDER_NOT_PAID"
    NO_INVOICE = "NO_INVOICE"
    # A staff form was filled in for an order that has moved on since (someone else shipped it meanwhile).
    ORDER_CHANGED = "ORDER_CHANGED"
    # Too many wrong guesses at tracking a guest order.
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
