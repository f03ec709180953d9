"""Keyset pagination for long staff tables: the next page starts after the last row shown, so page 500 costs
what page 1 costs and a row inserted meanwhile neither repeats nor hides another.

A cursor is the sort value and the id of the last row, as opaque URL-safe text. A cursor that does not
decode (edited by hand, from another sort) is refused with a 422 rather than guessed at.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from emporium.core.errors import ValidationFailed

T = TypeVar("T")

CursorValue = str | int | None


@dataclass(frozen=True)
class Cursor:
    value: CursorValue
    id: int


def encode_cursor(value: CursorValue | datetime, row_id: int) -> str:
    plain = value.isoformat() if isinstance(value, datetime) else value
    raw = json.dumps([plain, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(text: str | None, *, field: str = "after") -> Cursor | None:
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value, row_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise _bad_cursor(field) from exc
    if not isinstance(row_id, int) or isinstance(row_id, bool) or row_id < 1:
        raise _bad_cursor(field)
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
        raise _bad_cursor(field)
    return Cursor(value=value, id=row_id)


def _bad_cursor(field: str) -> ValidationFailed:
    return ValidationFailed(
        details=[{"field": field, "message": "This page link is not valid; start again from the first page."}]
    )


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    rows: list[T]
    next_cursor: str | None
