"""Path parameters shared by every domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

# Every API route lives under this prefix; routers carry it whole so route templates are complete.
API_PREFIX = "/api/v1"

# Ids beyond BIGINT would overflow in PostgreSQL; refuse them as invalid input instead.
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]

# Free text in a query string (a region, an e-mail to filter by): no control characters, and above all no
# NUL, which PostgreSQL cannot hold in text and would turn into a server error.
PLAIN_TEXT_PATTERN = r"^[^\x00-\x1f\x7f]+$"
