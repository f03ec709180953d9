"""The back office's own error codes (a refused page answers with them in its JSON twin and logs)."""

from __future__ import annotations

from enum import StrEnum


class AdminError(StrEnum):
    SIGN_IN_REQUIRED = "STAFF_SIGN_IN_REQUIRED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_STAFF = "NOT_STAFF"
    TWO_FACTOR_REQUIRED = "TWO_FACTOR_REQUIRED"
