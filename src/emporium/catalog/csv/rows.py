"""The CSV file's rows: its columns, one row checked on its own, and the import's report.

One row per variant; a product's fields may be repeated on each of its rows or given once. Blank cells are
"not given". Problems are collected, never raised, so the report names every bad row and column at once.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from emporium.core.money import DecimalAmount, MoneyError, to_minor

COLUMNS = (
    "product_slug",
    "product_name",
    "description",
    "description_format",
    "category_slug",
    "brand",
    "tags",
    "status",
    "featured",
    "seo_title",
    "seo_description",
    "sku",
    "variant_name",
    "options",
    "price",
    "compare_at_price",
    "is_default",
    "pool_key",
    "stock_unit",
    "on_hand",
    "low_stock_threshold",
    "draw_per_unit",
    "weight_grams",
)
REQUIRED = ("product_slug", "sku", "price")
MAX_ROWS = 200_000

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Slug = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=220)
]


def slugify(text: str) -> str:
    """A tag, or a new brand's slug, as the import makes it: lower-case words joined by hyphens. The demo
    data makes its slugs with it too."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection). The export writes
# such text behind an apostrophe, which spreadsheets show as text, and the import takes that apostrophe off
# again, so an exported file imports back unchanged. Plain negative numbers are no formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def neutralise(value: object) -> str:
    """A cell as the export writes it: text a spreadsheet would run gets a leading apostrophe."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def restore(text: str) -> str:
    """A cell as the export meant it: the apostrophe ``neutralise`` put in front of a formula is dropped."""
    if text.startswith("'") and text[1:2] and text[1] in FORMULA_STARTS:
        return text[1:]
    return text


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and value.strip() == "" else value


class CsvRow(BaseModel):
    """One line of the file, validated. Blank cells are "not given"."""

    model_config = ConfigDict(extra="forbid")

    product_slug: Slug
    product_name: Short | None = None
    description: Annotated[str, StringConstraints(max_length=50_000)] | None = None
    description_format: Literal["markdown", "html"] = "markdown"
    category_slug: Slug | None = None
    brand: Short | None = None
    tags: Text | None = None
    status: Literal["draft", "active", "archived"] | None = None
    featured: bool | None = None
    seo_title: Short | None = None
    seo_description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    sku: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$"),
    ]
    variant_name: Short | None = None
    options: Text | None = None
    price: DecimalAmount
    compare_at_price: DecimalAmount | None = None
    is_default: bool | None = None
    pool_key: Short | None = None
    # Blank: a new pool counts pieces, an existing pool keeps its unit.
    stock_unit: Literal["pc", "g"] | None = None
    on_hand: Annotated[int, Field(ge=0, le=10**12)] | None = None
    low_stock_threshold: Annotated[int, Field(ge=0, le=10**12)] | None = None
    draw_per_unit: Annotated[int, Field(ge=1, le=10**9)] = 1
    weight_grams: Annotated[int, Field(ge=0, le=10**7)] | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blanks(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return _blank_to_none(restore(value) if isinstance(value, str) else value)

    @field_validator("description_format", "draw_per_unit", mode="before")
    @classmethod
    def _defaults(cls, value: object, info: Any) -> object:
        if value is None:
            return {"description_format": "markdown", "draw_per_unit": 1}[info.field_name]
        return value

    def option_map(self) -> dict[str, str]:
        """``size=M;colour=Red`` -> {"size": "M", "colour": "Red"}."""
        result: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in (self.options or "").split(";"))):
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ValueError(f"option {part!r} is not name=value")
            result[key.strip()[:50]] = value.strip()[:100]
        return result

    def tag_list(self) -> list[str]:
        return list(dict.fromkeys(slugify(t)[:60] for t in (self.tags or "").split(";") if slugify(t)))


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ParsedRow:
    row_number: int
    row: CsvRow
    options: dict[str, str]


def read_rows(text: str, report: ImportReport) -> list[tuple[int, dict[str, str]]]:
    """The file's rows by line number, as cells by column; problems of the file itself go to the report."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    problems = _header_problems(header)
    if problems:
        report.errors += problems
        return []
    reader.fieldnames = header
    return _body_rows(reader, report)


def _header_problems(header: list[str]) -> list[RowError]:
    problems = [RowError(1, name, "unknown column") for name in header if name not in COLUMNS]
    problems += [RowError(1, name, "required column is missing") for name in REQUIRED if name not in header]
    if not header:
        problems.append(RowError(1, "", "the file has no header row"))
    return problems


def _body_rows(reader: csv.DictReader[str], report: ImportReport) -> list[tuple[int, dict[str, str]]]:
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for number, raw in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                report.errors.append(RowError(number, "", f"more than {MAX_ROWS} rows; split the file"))
                break
            if None in raw:  # more cells than header columns
                report.errors.append(RowError(number, "", "the row has more cells than the header"))
                continue
            rows.append((number, {k: v for k, v in raw.items() if v is not None}))
    except csv.Error as exc:
        report.errors.append(RowError(reader.line_num, "", f"not valid CSV: {exc}"))
    return rows


def validate(rows: list[tuple[int, dict[str, str]]], currency: str, report: ImportReport) -> list[ParsedRow]:
    """Each row checked on its own (and SKUs against the file's other rows); bad cells go to the report."""
    parsed: list[ParsedRow] = []
    seen_skus: dict[str, int] = {}
    for number, raw in rows:
        try:
            row = CsvRow.model_validate(raw)
            options = row.option_map()
        except ValidationError as exc:
            for err in exc.errors():
                column = str(err["loc"][0]) if err["loc"] else ""
                report.errors.append(RowError(number, column, str(err["msg"]).removeprefix("Value error, ")))
            continue
        except ValueError as exc:
            report.errors.append(RowError(number, "options", str(exc)))
            continue
        for column, amount in (("price", row.price), ("compare_at_price", row.compare_at_price)):
            if amount is None:
                continue
            try:
                if amount < 0:
                    raise MoneyError("must not be negative")
                to_minor(amount, currency)
            except MoneyError as exc:
                report.errors.append(RowError(number, column, str(exc)))
        if row.sku.upper() in seen_skus:
            report.errors.append(
                RowError(number, "sku", f"repeats the SKU of row {seen_skus[row.sku.upper()]}")
            )
        seen_skus.setdefault(row.sku.upper(), number)
        parsed.append(ParsedRow(number, row, options))
    return parsed
