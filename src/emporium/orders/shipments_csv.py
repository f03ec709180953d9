"""Reading a bulk shipping file: one row per parcel with the order number, the carrier and the tracking
number, as a spreadsheet saves it (UTF-8, with or without a byte-order mark; commas, semicolons or tabs;
an optional header row).

A file that cannot be read at all (too large, not text, no rows) is refused as a whole; otherwise every
row is checked and each bad one is reported with its line number, so staff fix the file in one go.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import StringConstraints, TypeAdapter, ValidationError

from emporium.core.card_numbers import NoCardNumber
from emporium.core.errors import ValidationFailed

MAX_FILE_BYTES = 256 * 1024
MAX_ROWS = 2000
_HEADER_WORDS = (
    frozenset({"order", "order number", "number"}),
    frozenset({"carrier"}),
    frozenset({"tracking", "tracking number"}),
)
_COLUMNS = "order number, carrier, tracking number"
_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9-]{3,31}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoCardNumber]
_text = TypeAdapter(_Text)


@dataclass(frozen=True)
class ShipmentRow:
    line: int
    number: str
    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": "file", "message": message}])


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise _refused(f"The file is larger than {MAX_FILE_BYTES // 1024} KB; split it into smaller files.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refused("The file is not UTF-8 text: save it from the spreadsheet as CSV (UTF-8).") from exc
    if "\x00" in text:
        raise _refused("The file is not a CSV text file.")
    return text


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _is_header(cells: list[str]) -> bool:
    words = [" ".join(c.strip().lower().replace("_", " ").split()) for c in cells]
    return len(words) == 3 and all(w in allowed for w, allowed in zip(words, _HEADER_WORDS, strict=True))


def _field(value: str, name: str) -> tuple[str | None, str | None]:
    """The cleaned value, or the message saying what is wrong with it."""
    if _CONTROL.search(value):
        return None, f"the {name} holds control characters"
    try:
        return _text.validate_python(value), None
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        return None, f"the {name} is not valid ({reason[:80]})"


def _row(line: int, cells: list[str]) -> ShipmentRow | RowError:
    while cells and not cells[-1].strip():
        cells = cells[:-1]
    if len(cells) != 3:
        return RowError(line, f"expected 3 columns ({_COLUMNS}), found {len(cells)}")
    number = cells[0].strip().upper()
    if not _NUMBER.fullmatch(number):
        return RowError(line, f"{cells[0].strip()[:40]!r} is not an order number")
    carrier, carrier_error = _field(cells[1], "carrier")
    tracking, tracking_error = _field(cells[2], "tracking number")
    if carrier is None or tracking is None:
        return RowError(line, str(carrier_error or tracking_error))
    return ShipmentRow(line, number, carrier, tracking)


def parse_shipments(raw: bytes) -> tuple[list[ShipmentRow], list[RowError]]:
    """The file's rows and the errors of its bad rows (ValidationFailed when the file is unreadable)."""
    text = _decode(raw)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    rows: list[ShipmentRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    first = True
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if first and _is_header(cells):
                first = False
                continue
            first = False
            if len(rows) + len(errors) >= MAX_ROWS:
                raise _refused(f"The file has more than {MAX_ROWS} rows; split it into smaller files.")
            parsed = _row(line, cells)
            if isinstance(parsed, ShipmentRow) and parsed.number in seen:
                parsed = RowError(line, f"order {parsed.number} is already on line {seen[parsed.number]}")
            if isinstance(parsed, RowError):
                errors.append(parsed)
            else:
                seen[parsed.number] = line
                rows.append(parsed)
    except csv.Error as exc:
        raise _refused(f"The file is not valid CSV near line {reader.line_num}: {exc}.") from exc
    if not rows and not errors:
        raise _refused(f"The file has no rows: give one row per parcel ({_COLUMNS}).")
    return rows, errors
