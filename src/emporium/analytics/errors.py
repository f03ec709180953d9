"""The analytics domain's error codes (clients match on them)."""

from __future__ import annotations

from enum import StrEnum


class AnalyticsError(StrEnum):
    # The date range ends before it begins, is longer than the reports cover, or lies outside the years
    # the shop can date.
    INVALID_DATE_RANGE = "INVALID_DATE_RANGE"
