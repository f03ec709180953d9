"""The error codes of accounts: sign-in, tokens, permissions, profiles and address books. Clients match on
these strings; a value never changes once published."""

from __future__ import annotations

from enum import StrEnum


class AccountError(StrEnum):
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    # Sign-ins of one e-mail locked out after too many failures.
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    INVALID_TOKEN = "INVALID_TOKEN"  # noqa: S105
    TOKEN_REUSED = "TOKEN_REUSED"  # noqa: S105
    SESSION_ENDED = "SESSION_ENDED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID_PASSWORD = "INVALID_PASSWORD"  # noqa: S105
    ADDRESS_NOT_FOUND = "ADDRESS_NOT_FOUND"
    # Staff management and two-factor sign-in (accounts/staff.py, accounts/two_factor.py).
    STAFF_NOT_FOUND = "STAFF_NOT_FOUND"
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"
    ACCOUNT_EXISTS = "ACCOUNT_EXISTS"
    OWN_ACCOUNT = "OWN_ACCOUNT"
    ROLE_NOT_ALLOWED = "ROLE_NOT_ALLOWED"
    LAST_SUPER_ADMIN = "LAST_SUPER_ADMIN"
    ACCOUNT_ERASED = "ACCOUNT_ERASED"
    TWO_FACTOR_INVALID = "TWO_FACTOR_INVALID"
    # Signing in to an account with two-factor sign-in needs its code as well as the password.
    TWO_FACTOR_REQUIRED = "TWO_FACTOR_REQUIRED"
    TWO_FACTOR_STATE = "TWO_FACTOR_STATE"
