"""What a shopper reads when a field is refused: one sentence per field, in the shop's voice.

The storefront's forms and the API's error details both take their text from here, so a validator's own
wording ("String should match pattern ...") never reaches anyone. A message written by one of the shop's
validators (a postal code for the chosen country, the password policy) is already meant for people and is
kept as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PHONE_MESSAGE = "Enter a phone number with its country code, like +44 20 7946 0958."
EMAIL_MESSAGE = "Enter a valid e-mail address, like name@example.com."
COUNTRY_MESSAGE = "Choose a country from the list."

# A field whose value is there but not right.
FIELD_MESSAGES: dict[str, str] = {
    "email": EMAIL_MESSAGE,
    "phone": PHONE_MESSAGE,
    "name": "Enter a name.",
    "full_name": "Enter the name of the person who receives the parcel.",
    "first_name": "Enter your first name.",
    "last_name": "Enter your last name.",
    "label": "Enter a short label, like Home or Work.",
    "line1": "Enter the street and house number.",
    "line2": "Enter the apartment, suite or floor, or leave this empty.",
    "city": "Enter the town or city.",
    "region": "Enter the state, province or region.",
    "postal_code": "Enter the postal code.",
    "country": COUNTRY_MESSAGE,
    "order_number": "Enter the order number from your e-mail, like ORD-2026-000123.",
    "contact": "Enter the e-mail address or phone number you gave at checkout.",
    "address_id": "Choose one of your addresses or enter a new one.",
    "shipping_method_id": "Choose a shipping method.",
    "payment_method": "Choose a way to pay.",
    "password": "Enter your password.",
    "current_password": "Enter your current password.",
    "new_password": "Choose a new password.",
    "token": "This link is not valid. Ask for a new one.",
}

# A required field left empty.
MISSING_MESSAGES: dict[str, str] = {
    "email": "Enter your e-mail address.",
    "phone": "Enter a phone number.",
    "full_name": "Enter the recipient's name.",
    "line1": "Enter the street and house number.",
    "city": "Enter the town or city.",
    "region": "Enter the state, province or region.",
    "postal_code": "Enter the postal code.",
    "country": COUNTRY_MESSAGE,
    "password": "Enter your password.",
}

# Error types whose text comes from the shop's own validators (ValueError messages, custom errors).
OWN_TYPES = frozenset({"value_error", "assertion_error", "shop"})
# Libraries that raise value_error with their own wording, for these fields.
FOREIGN_VALUE_ERRORS = frozenset({"email", "contact_email"})


def _by_type(kind: str, ctx: Mapping[str, Any]) -> str | None:
    """A plain sentence for a field the table does not name."""
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "Enter a whole number."
    if kind in ("float_parsing", "decimal_parsing", "float_type", "decimal_type"):
        return "Enter a number."
    if kind in ("bool_parsing", "bool_type"):
        return "Choose yes or no."
    if kind in ("literal_error", "enum"):
        return f"Choose one of {ctx.get('expected', 'the listed values')}."
    if kind in ("greater_than_equal", "greater_than"):
        return f"Enter {ctx.get('ge', ctx.get('gt'))} or more."
    if kind in ("less_than_equal", "less_than"):
        return f"Enter {ctx.get('le', ctx.get('lt'))} or less."
    if kind in ("string_type", "string_pattern_mismatch"):
        return "Enter text without special characters."
    if kind in ("list_type", "dict_type", "model_type", "model_attributes_type"):
        return "This part of the request has the wrong shape."
    if kind in ("too_long", "too_short"):
        return "Give a number of items within the allowed range."
    return None


def human_message(field: str, error: Mapping[str, Any]) -> str:
    """The sentence for one of Pydantic's errors on ``field`` (its name without a form's prefix)."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return MISSING_MESSAGES.get(field, "Fill this in.")
    if kind == "string_too_long":
        return f"Use at most {ctx.get('max_length')} characters."
    if kind in OWN_TYPES and field not in FOREIGN_VALUE_ERRORS:
        return str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if field in FIELD_MESSAGES:
        return FIELD_MESSAGES[field]
    return _by_type(kind, ctx) or "Check this value."


def field_name(loc: tuple[str | int, ...] | list[str | int]) -> str:
    """The field an error is about: the last named part of its location (``shipping_address.phone``)."""
    named = [str(part) for part in loc if isinstance(part, str)]
    return named[-1] if named else "form"
