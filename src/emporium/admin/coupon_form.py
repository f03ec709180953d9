"""The coupon form of the back office: what staff typed, read into the pricing API's ``CouponIn`` with one
sentence per field that does not hold.

Figures arrive as text and are checked here first (a percentage from 0 to 100, amounts in the shop's
currency, whole-number limits, dates in order, product ids as numbers) so that each refusal names its field
in words; ``CouponIn`` then applies the API's own rules, so the form accepts exactly what the API does.
Dates are typed in the shop's time zone and stored in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from emporium.core.messages import field_name, human_message
from emporium.core.money import MoneyError, from_minor, to_minor
from emporium.core.params import MAX_ID
from emporium.pricing.calculations import ppm_to_percent
from emporium.pricing.schemas import MAX_AMOUNT, CouponIn, CouponKind

if TYPE_CHECKING:
    from starlette.datastructures import FormData

    from emporium.pricing.models import Coupon

KIND_NAMES = {
    CouponKind.PERCENTAGE.value: "Percentage off",
    CouponKind.FIXED_AMOUNT.value: "Fixed amount off",
    CouponKind.FREE_SHIPPING.value: "Free shipping",
}
TEXT_FIELDS = (
    "code",
    "description",
    "kind",
    "percent_off",
    "amount_off",
    "min_subtotal",
    "starts_at",
    "ends_at",
    "usage_limit",
    "per_customer_limit",
    "product_ids",
)
# Longer than any good value of any field: the rest is refused before it is read.
MAX_FIELD = 4000
MAX_LIMIT = 10_000_000
MAX_RESTRICTIONS = 500
CODE = re.compile(r"^[A-Za-z0-9_-]{3,64}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LOCAL_TIME = "%Y-%m-%dT%H:%M"


class FieldError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass
class CouponForm:
    """What the form shows: the values as typed, the categories ticked and a sentence per bad field."""

    values: dict[str, str]
    category_ids: set[int] = field(default_factory=set)
    is_active: bool = True
    errors: dict[str, str] = field(default_factory=dict)


def blank_form() -> CouponForm:
    return CouponForm(values=dict.fromkeys(TEXT_FIELDS, "") | {"kind": CouponKind.PERCENTAGE.value})


def form_of(coupon: Coupon, currency: str, time_zone: str) -> CouponForm:
    """The form filled with a coupon's terms, to edit it."""

    def money(minor: int | None) -> str:
        return "" if minor is None else f"{from_minor(minor, currency):f}"

    def local(at: datetime | None) -> str:
        return "" if at is None else at.astimezone(ZoneInfo(time_zone)).strftime(LOCAL_TIME)

    percent = "" if coupon.percent_off_ppm is None else f"{ppm_to_percent(coupon.percent_off_ppm):f}"
    values = {
        "code": coupon.code,
        "description": coupon.description,
        "kind": coupon.kind,
        "percent_off": percent,
        "amount_off": money(coupon.amount_off_minor),
        "min_subtotal": money(coupon.min_subtotal_minor),
        "starts_at": local(coupon.starts_at),
        "ends_at": local(coupon.ends_at),
        "usage_limit": "" if coupon.usage_limit is None else str(coupon.usage_limit),
        "per_customer_limit": "" if coupon.per_customer_limit is None else str(coupon.per_customer_limit),
        "product_ids": ", ".join(str(i) for i in coupon.product_ids or []),
    }
    return CouponForm(values, {int(i) for i in coupon.category_ids or []}, coupon.is_active)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _decimal(text: str, name: str, what: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation as exc:
        raise FieldError(name, f"Give {what} as a number, e.g. 12.50.") from exc
    if not value.is_finite():
        raise FieldError(name, f"Give {what} as a number, e.g. 12.50.")
    return value


def _percent(text: str) -> Decimal:
    value = _decimal(text, "percent_off", "the percentage")
    if not Decimal(0) < value <= Decimal(100):
        raise FieldError("percent_off", "A percentage off is above 0 and at most 100.")
    if value != value.quantize(Decimal("0.0001")):
        raise FieldError("percent_off", "At most four decimal places.")
    return value


def _amount(text: str, name: str, currency: str, *, positive: bool) -> Decimal:
    value = _decimal(text, name, "the amount")
    if value < 0 or (positive and value == 0):
        raise FieldError(name, "Give an amount above 0." if positive else "An amount cannot be negative.")
    if value > MAX_AMOUNT:
        raise FieldError(name, f"At most {MAX_AMOUNT:,} {currency}.")
    try:
        to_minor(value, currency)
    except MoneyError as exc:
        raise FieldError(name, f"Give the amount in {currency}: {exc}.") from exc
    return value


def _limit(text: str, name: str) -> int | None:
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise FieldError(
            name, f"Give a whole number from 1 to {MAX_LIMIT:,}, or leave it empty for no limit."
        )
    return int(text)


def _moment(text: str, name: str, time_zone: str) -> datetime | None:
    if not text:
        return None
    try:
        local = datetime.strptime(text[:16], LOCAL_TIME) if len(text) in (16, 19) else None
    except ValueError:
        local = None
    if local is None or (len(text) == 19 and not re.fullmatch(r":\d\d", text[16:])):
        raise FieldError(name, "Give a date and time such as 2026-12-24T18:00.")
    return local.replace(tzinfo=ZoneInfo(time_zone))


def _ids(values: list[str], name: str, what: str) -> list[int]:
    if len(values) > MAX_RESTRICTIONS:
        raise FieldError(name, f"At most {MAX_RESTRICTIONS} {what}.")
    ids = []
    for value in values:
        if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_ID:
            one = what.removesuffix("s").replace("categorie", "category")
            raise FieldError(name, f"“{value[:20]}” is not a {one} id: give numbers such as 12, 40.")
        ids.append(int(value))
    return ids


def _checked(
    name: str, read: Callable[[], object], errors: dict[str, str], parsed: dict[str, object]
) -> None:
    try:
        parsed[name] = read()
    except FieldError as exc:
        errors.setdefault(exc.name, exc.message)


def read_form(form: FormData, currency: str, time_zone: str) -> tuple[CouponForm, CouponIn | None]:
    """The form as typed, and the coupon it describes (None when a field is refused: see ``errors``)."""
    values = {name: _text(form, name).strip()[:MAX_FIELD] for name in TEXT_FIELDS}
    categories = [v.strip() for v in form.getlist("category_ids") if isinstance(v, str)]
    shown = CouponForm(
        values,
        {int(v) for v in categories if v.isascii() and v.isdigit() and len(v) < 19},
        _text(form, "is_active") == "1",
    )
    errors: dict[str, str] = {
        name: "This is far too long."
        for name, value in form.multi_items()
        if isinstance(value, str) and len(value) > MAX_FIELD
    }
    parsed: dict[str, object] = {}
    _check_words(values, errors)
    _check_figures(values, currency, errors, parsed)
    _check_dates(values, time_zone, errors, parsed)
    product_ids = [p for p in re.split(r"[\s,;]+", values["product_ids"]) if p]
    _checked("product_ids", partial(_ids, product_ids, "product_ids", "products"), errors, parsed)
    _checked("category_ids", partial(_ids, categories, "category_ids", "categories"), errors, parsed)
    shown.errors = errors
    if errors:
        return shown, None
    return shown, _coupon_in(shown, parsed)


def _check_words(values: dict[str, str], errors: dict[str, str]) -> None:
    """The kind, the code and the description."""
    if values["kind"] not in KIND_NAMES:
        errors.setdefault("kind", "Choose what the coupon gives.")
    if not CODE.fullmatch(values["code"]):
        errors.setdefault("code", "Use 3 to 64 letters, digits, hyphens or underscores, e.g. SPRING-25.")
    if CONTROL.search(values["description"]) or len(values["description"]) > 300:
        errors.setdefault("description", "Use plain text of at most 300 characters.")


def _check_figures(
    values: dict[str, str], currency: str, errors: dict[str, str], parsed: dict[str, object]
) -> None:
    """What the kind gives (a percentage or an amount), the minimum order and the limits."""
    kind = values["kind"]
    if kind == CouponKind.PERCENTAGE:
        _checked("percent_off", partial(_percent, values["percent_off"]), errors, parsed)
    if kind == CouponKind.FIXED_AMOUNT:
        read = partial(_amount, values["amount_off"], "amount_off", currency, positive=True)
        _checked("amount_off", read, errors, parsed)
    if values["min_subtotal"]:
        read = partial(_amount, values["min_subtotal"], "min_subtotal", currency, positive=False)
        _checked("min_subtotal", read, errors, parsed)
    for name in ("usage_limit", "per_customer_limit"):
        _checked(name, partial(_limit, values[name], name), errors, parsed)


def _check_dates(
    values: dict[str, str], time_zone: str, errors: dict[str, str], parsed: dict[str, object]
) -> None:
    for name in ("starts_at", "ends_at"):
        _checked(name, partial(_moment, values[name], name, time_zone), errors, parsed)
    starts, ends = parsed.get("starts_at"), parsed.get("ends_at")
    if isinstance(starts, datetime) and isinstance(ends, datetime) and ends <= starts:
        errors.setdefault("ends_at", "The end must come after the start.")


def _coupon_in(shown: CouponForm, parsed: dict[str, object]) -> CouponIn | None:
    """The API's own check of what passed the form's; its complaints, if any, go to ``shown.errors``."""
    values = shown.values
    try:
        return CouponIn.model_validate(
            {
                "code": values["code"],
                "description": values["description"],
                "kind": values["kind"],
                "is_active": shown.is_active,
                **parsed,
            }
        )
    except ValidationError as exc:
        for error in exc.errors():
            name = field_name(error["loc"])
            shown.errors.setdefault(name, human_message(name, error))
        return None
