"""The error codes of catalog CSV imports. Clients match on these strings; a value never changes once
published."""

from __future__ import annotations

from enum import StrEnum


class CsvError(StrEnum):
    INVALID_CSV = "INVALID_CSV"
    CSV_ROWS_INVALID = "CSV_ROWS_INVALID"
