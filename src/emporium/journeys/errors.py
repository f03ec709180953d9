"""The error codes of the journeys. Clients match on these strings; a value never changes once published."""

from __future__ import annotations

from enum import StrEnum

from emporium.core.errors import BadRequest, Conflict, EmporiumError, Forbidden, NotFound, Unauthorized


class JourneyError(StrEnum):
    LINK_INVALID = "LINK_INVALID"
    LINK_EXPIRED = "LINK_EXPIRED"
    CART_GONE = "CART_GONE"
    CART_OF_ANOTHER_ACCOUNT = "CART_OF_ANOTHER_ACCOUNT"
    SIGN_IN_TO_RESTORE = "SIGN_IN_TO_RESTORE"
    VARIANT_NOT_FOUND = "VARIANT_NOT_FOUND"
    VARIANT_IN_STOCK = "VARIANT_IN_STOCK"
    ALERT_GONE = "ALERT_GONE"


class LinkInvalid(BadRequest):
    code = JourneyError.LINK_INVALID
    message = "This link is not valid. It may have been copied incompletely."


class LinkExpired(EmporiumError):
    status_code = 410
    code = JourneyError.LINK_EXPIRED
    message = "This link has expired."


class CartGone(NotFound):
    code = JourneyError.CART_GONE
    message = "This cart is no longer kept: it was ordered, emptied or has expired."


class CartOfAnotherAccount(Forbidden):
    code = JourneyError.CART_OF_ANOTHER_ACCOUNT
    message = "This cart belongs to another account. Sign out, then open the link again."


class SignInToRestore(Unauthorized):
    code = JourneyError.SIGN_IN_TO_RESTORE
    message = "Sign in to the account this cart belongs to."


class VariantNotFound(NotFound):
    code = JourneyError.VARIANT_NOT_FOUND
    message = "No such product option."


class VariantInStock(Conflict):
    code = JourneyError.VARIANT_IN_STOCK
    message = "This option is in stock: it can be bought now."


class AlertGone(NotFound):
    code = JourneyError.ALERT_GONE
    message = "This alert no longer exists."
