"""What staff may store as the shop's settings, and a content page's text, validated at the boundary.

A blank field means "use the environment's default" and is stored as NULL.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from emporium.core.schemas import InputModel

MAX_ADDRESS_LINES = 8
MAX_PAGE_CHARS = 100_000
CurrencyDisplay = Literal["symbol", "code"]


def _blank_is_none(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _printable(value: str | None) -> str | None:
    if value is not None and not value.isprintable():
        raise ValueError("Use plain text on one line.")
    if value is not None and ("<" in value or ">" in value):
        raise ValueError("Use plain text: no < or > (HTML is not shown as such).")
    return value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise ValueError(f"{value!r} is not a time zone; use an IANA name such as Europe/Berlin.") from exc
    if value not in available_timezones() and value != "UTC":
        raise ValueError(f"{value!r} is not a time zone; use an IANA name such as Europe/Berlin.")
    return value


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not an e-mail address.") from exc


def _address_lines(value: object) -> object:
    if isinstance(value, str):
        lines = [line.strip() for line in value.replace("\r", "").split("\n")]
        return [line for line in lines if line] or None
    return value


Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_printable)
]
Name = Annotated[
    Annotated[str, StringConstraints(max_length=100), AfterValidator(_printable)] | None,
    BeforeValidator(_blank_is_none),
]
LegalName = Annotated[
    Annotated[str, StringConstraints(max_length=200), AfterValidator(_printable)] | None,
    BeforeValidator(_blank_is_none),
]
TaxId = Annotated[
    Annotated[str, StringConstraints(max_length=50), AfterValidator(_printable)] | None,
    BeforeValidator(_blank_is_none),
]
TaxIdLabel = Annotated[
    Annotated[str, StringConstraints(max_length=40), AfterValidator(_printable)] | None,
    BeforeValidator(_blank_is_none),
]
Email = Annotated[
    Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)] | None,
    BeforeValidator(_blank_is_none),
]
TimeZone = Annotated[
    Annotated[str, StringConstraints(max_length=64), AfterValidator(_time_zone)] | None,
    BeforeValidator(_blank_is_none),
]


class StoreSettingsIn(InputModel):
    name: Name = None
    legal_name: LegalName = None
    address: Annotated[
        Annotated[list[Line], Field(max_length=MAX_ADDRESS_LINES)] | None, BeforeValidator(_address_lines)
    ] = None
    tax_id: TaxId = None
    tax_id_label: TaxIdLabel = None
    contact_email: Email = None
    timezone: TimeZone = None
    currency_display: Annotated[CurrencyDisplay | None, BeforeValidator(_blank_is_none)] = None


class ContentPageIn(InputModel):
    title: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
        AfterValidator(_printable),
    ]
    body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PAGE_CHARS)]
