"""Request and response bodies of the pricing API: coupons, tax rates, shipping zones and methods.

Money is a decimal string in the shop currency; percentages are decimal strings ("12.5" for 12.5 %).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator, model_validator

from emporium.accounts.schemas import Country
from emporium.core.money import DecimalAmount
from emporium.core.params import MAX_ID
from emporium.core.schemas import InputModel

# Re-exported: pages name the coupon kinds through the schemas, never the models.
from emporium.pricing.models import CouponKind as CouponKind
from emporium.pricing.models import ShippingKind

MAX_AMOUNT = Decimal("1000000000000")
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Limit = Annotated[int, Field(strict=True, ge=1, le=10_000_000)]


def _amount(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("An amount cannot be negative.")
    if value > MAX_AMOUNT:
        raise ValueError("The amount is out of range.")
    return value


def _percent(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(100):
        raise ValueError("A percentage is between 0 and 100.")
    if value != value.quantize(Decimal("0.0001")):
        raise ValueError("At most four decimal places.")
    return value


Amount = Annotated[DecimalAmount, AfterValidator(_amount)]
Percent = Annotated[DecimalAmount, AfterValidator(_percent)]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("Give a time zone, e.g. 2026-12-01T00:00:00Z.")
    return value


class CouponIn(InputModel):
    code: Annotated[
        str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9_-]{3,64}$")
    ]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    kind: CouponKind
    percent_off: Percent | None = None
    amount_off: Amount | None = None
    min_subtotal: Amount | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: Limit | None = None
    per_customer_limit: Limit | None = None
    product_ids: Annotated[list[Id], Field(max_length=500)] = []
    category_ids: Annotated[list[Id], Field(max_length=500)] = []
    is_active: bool = True

    _aware_times = field_validator("starts_at", "ends_at")(_aware)

    @model_validator(mode="after")
    def _consistent(self) -> CouponIn:
        if self.kind == CouponKind.PERCENTAGE and (self.percent_off is None or self.percent_off <= 0):
            raise ValueError("A percentage coupon needs percent_off above 0.")
        if self.kind == CouponKind.FIXED_AMOUNT and (self.amount_off is None or self.amount_off <= 0):
            raise ValueError("A fixed-amount coupon needs amount_off above 0.")
        if self.kind != CouponKind.PERCENTAGE and self.percent_off is not None:
            raise ValueError("percent_off is only for percentage coupons.")
        if self.kind != CouponKind.FIXED_AMOUNT and self.amount_off is not None:
            raise ValueError("amount_off is only for fixed-amount coupons.")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must come after starts_at.")
        return self


class CouponRead(BaseModel):
    id: int
    code: str
    description: str
    kind: CouponKind
    percent_off: DecimalAmount | None
    amount_off: DecimalAmount | None
    min_subtotal: DecimalAmount | None
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    used_count: int
    product_ids: list[int]
    category_ids: list[int]
    is_active: bool
    created_at: datetime


class TaxRateIn(InputModel):
    country: Country
    region: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=100)] = ""
    name: Label
    rate: Percent


class TaxRateRead(BaseModel):
    id: int
    country: str
    region: str
    name: str
    rate: DecimalAmount


def _countries(values: list[str]) -> list[str]:
    cleaned = []
    for value in values:
        code = value.strip().upper()
        if code != "*" and (len(code) != 2 or not code.isascii() or not code.isalpha()):
            raise ValueError(f"{value!r} is not a two-letter ISO country code or '*'.")
        if code not in cleaned:
            cleaned.append(code)
    return cleaned


class ZoneIn(InputModel):
    name: Label
    countries: Annotated[
        list[Annotated[str, StringConstraints(max_length=3)]], Field(min_length=1, max_length=250)
    ]

    _clean = field_validator("countries")(_countries)


class MethodIn(InputModel):
    name: Label
    kind: ShippingKind
    price: Amount = Decimal(0)
    free_above: Amount | None = None
    per_kg: Amount | None = None
    is_active: bool = True
    position: Annotated[int, Field(strict=True, ge=0, le=10_000)] = 0
    details: Annotated[
        dict[Label, Annotated[str, StringConstraints(max_length=500)]], Field(max_length=10)
    ] = {}

    @model_validator(mode="after")
    def _consistent(self) -> MethodIn:
        if self.kind == ShippingKind.FREE_ABOVE and self.free_above is None:
            raise ValueError("A free-above method needs free_above.")
        if self.kind == ShippingKind.BY_WEIGHT and self.per_kg is None:
            raise ValueError("A by-weight method needs per_kg.")
        return self


class MethodRead(BaseModel):
    id: int
    zone_id: int
    name: str
    kind: ShippingKind
    price: DecimalAmount
    free_above: DecimalAmount | None
    per_kg: DecimalAmount | None
    is_active: bool
    position: int
    details: dict[str, Any]


class ZoneRead(BaseModel):
    id: int
    name: str
    countries: list[str]
    methods: list[MethodRead]
