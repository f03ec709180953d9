"""The error codes of catalog CSV imports. Clients match on these strings; a value never changes once
published."""

from __future__ import annotations

from enum import StrEnum


class CsvError(StrEnum):
    INVALID_CSV = "INVALID_CSV"
    CSV_ROWS_INVALID = "CSV_ROWS_INVALID"
    # The back office's kept uploads (catalog/csv/uploads.py).
    NOT_TEXT = "CSV_NOT_TEXT"
    FILE_TOO_LARGE = "CSV_FILE_TOO_LARGE"
    UPLOAD_NOT_FOUND = "CSV_UPLOAD_NOT_FOUND"
    UPLOAD_EXPIRED = "CSV_UPLOAD_EXPIRED"
    UPLOAD_USED = "CSV_UPLOAD_USED"
