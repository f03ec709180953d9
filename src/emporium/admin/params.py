"""Query parameters of back-office filters. A filter form sends its empty fields too (``?from=&q=``), so an
empty value means "no filter" rather than a 422; anything else must be well-formed."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query

from emporium.core.errors import ValidationFailed

# Printable text or nothing: no control characters (they have no place in a search and break logs).
OPTIONAL_TEXT = r"^[^\x00-\x1f\x7f]*$"
OptionalText = Annotated[str, Query(max_length=100, pattern=OPTIONAL_TEXT)]
OptionalEmail = Annotated[str, Query(max_length=320, pattern=OPTIONAL_TEXT)]
OptionalDate = Annotated[str, Query(max_length=10, pattern=r"^(\d{4}-\d{2}-\d{2})?$")]
CursorParam = Annotated[str, Query(max_length=300, pattern=r"^[A-Za-z0-9_-]*$")]


def parse_day(value: str, field: str) -> date | None:
    """``2026-12-07`` as a date; empty as None; a day that does not exist (2026-02-30) is a 422."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        message = "Give a real date, e.g. 2026-12-07."
        raise ValidationFailed(message, details=[{"field": field, "message": message}]) from exc
