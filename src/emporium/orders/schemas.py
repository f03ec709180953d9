"""Request and response bodies of the orders API. A price or total sent by a client is ignored (unknown
fields are dropped by InputModel): the server computes every amount."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints, model_validator

from emporium.accounts.schemas import Country, Line, Phone, PostalCode, RegionField, ShortLine
from emporium.core.card_numbers import NoCardNumber
from emporium.core.money import DecimalAmount
from emporium.core.params import MAX_ID
from emporium.core.phones import to_e164
from emporium.core.schemas import InputModel
from emporium.core.search_text import SearchKind

# Re-exported: pages and other domains' routes name the states through the schemas, never the models.
from emporium.orders.models import OrderStatus as OrderStatus
from emporium.orders.models import PaymentStatus as PaymentStatus

Id = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
# Free text refuses card numbers (core/card_numbers.py). A tracking number is an identifier, not free text.
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), NoCardNumber]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Carrier = Annotated[Label, NoCardNumber]
FullName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoCardNumber
]


@dataclass(frozen=True)
class OrderFilters:
    """Which orders a list shows (a customer's own, or staff's search)."""

    status: str | None = None
    payment_status: str | None = None
    created_from: datetime | None = None
    created_until: datetime | None = None
    customer_id: int | None = None
    email: str | None = None
    number: str | None = None
    # Pending orders of these payment methods: cash-on-delivery and bank-transfer orders awaiting staff.
    awaiting_staff: frozenset[str] | None = None
    oldest_first: bool = False


class OrderSort(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    TOTAL_HIGH = "total_high"
    TOTAL_LOW = "total_low"


SORT_NAMES = {
    OrderSort.NEWEST: "Newest first",
    OrderSort.OLDEST: "Oldest first",
    OrderSort.TOTAL_HIGH: "Highest total",
    OrderSort.TOTAL_LOW: "Lowest total",
}


@dataclass(frozen=True)
class TextMatch:
    """What the search box holds, read as one kind (core/search_text.py): an order number is looked up by
    number, an address or a phone by its indexed column; words are matched in the name and the address,
    and digits alone also at the number's end."""

    text: str
    kind: SearchKind = SearchKind.WORDS
    number: str | None = None
    number_tail: str | None = None
    phones: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OrderSearch:
    """One search of the order table, as its filter form and URL hold it (already validated)."""

    q: str | None = None
    status: str | None = None
    payment_status: str | None = None
    payment_method: str | None = None
    # Placed at or after ``created_from`` and before ``created_before`` (the page turns the days staff pick
    # into instants in the shop's time zone).
    created_from: datetime | None = None
    created_before: datetime | None = None
    coupon: str | None = None
    country: str | None = None
    sort: OrderSort = OrderSort.NEWEST


@dataclass(frozen=True)
class OrderRow:
    """An order as a row of the staff table and of its CSV export."""

    id: int
    number: str
    created_at: datetime
    customer_id: int | None
    name: str
    email: str
    phone: str | None
    status: str
    payment_status: str
    payment_method: str
    country: str | None
    coupon_code: str | None
    item_count: int
    total_minor: int
    currency: str


class AddressIn(InputModel):
    # First, so the phone, region and postal code are read by the country's rules.
    country: Country
    full_name: FullName
    phone: Phone | None = None
    line1: Line
    line2: Line | None = None
    city: ShortLine
    region: RegionField = None
    postal_code: PostalCode


class GuestContact(InputModel):
    """Seed 003 guest checkout: a name, a phone number and an e-mail address."""

    name: FullName
    phone: Phone
    email: EmailStr


class OrderCreate(InputModel):
    address_id: Id | None = None
    shipping_address: AddressIn | None = None
    billing_address: AddressIn | None = None
    shipping_method_id: Id
    payment_method: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    guest: GuestContact | None = None
    note: Note | None = None
    # The total the client showed the shopper; when given and the re-priced total differs, nothing is
    # placed and the answer is 409 PRICE_CHANGED with the new quote.
    expected_total: Annotated[DecimalAmount, Field(ge=0, le=10**12)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _guest_phone_in_address_country(cls, data: Any) -> Any:
        """A guest's number typed without its country code is read in the delivery country."""
        if not isinstance(data, dict):
            return data
        guest, address = data.get("guest"), data.get("shipping_address")
        if isinstance(guest, dict) and isinstance(address, dict):
            phone, country = guest.get("phone"), address.get("country")
            if isinstance(phone, str) and isinstance(country, str) and len(country.strip()) == 2:
                found = to_e164(phone, country.strip())
                if found is not None:
                    data = data | {"guest": guest | {"phone": found}}
        return data

    @model_validator(mode="after")
    def _one_address(self) -> OrderCreate:
        if (self.address_id is None) == (self.shipping_address is None):
            raise ValueError("Give either address_id (a saved address) or shipping_address.")
        return self


class OrderLineRead(BaseModel):
    id: int
    product_id: int
    variant_id: int
    product_name: str
    variant_name: str
    sku: str
    options: dict[str, Any]
    quantity: int
    unit_price: DecimalAmount
    subtotal: DecimalAmount
    discount: DecimalAmount
    tax: DecimalAmount
    total: DecimalAmount


class OrderEventRead(BaseModel):
    kind: str
    from_status: str | None
    to_status: str | None
    note: str | None
    data: dict[str, Any]
    created_at: datetime


class OrderTotals(BaseModel):
    subtotal: DecimalAmount
    discount: DecimalAmount
    shipping: DecimalAmount
    tax: DecimalAmount
    total: DecimalAmount
    prices_include_tax: bool


class OrderSummary(BaseModel):
    id: int
    number: str
    status: OrderStatus
    payment_status: PaymentStatus
    payment_method: str
    currency: str
    total: DecimalAmount
    item_count: int
    created_at: datetime
    # A pending order is cancelled (its stock released) once this passes; None once it has moved on.
    expires_at: datetime | None = None


class OrderRead(BaseModel):
    id: int
    number: str
    status: OrderStatus
    payment_status: PaymentStatus
    payment_method: str
    stock_state: str
    currency: str
    totals: OrderTotals
    coupon_code: str | None
    shipping_method: str
    shipping_address: dict[str, Any]
    billing_address: dict[str, Any]
    contact: dict[str, Any]
    customer_id: int | None
    note: str | None
    carrier: str | None
    tracking_number: str | None
    # Issued when the order is confirmed or paid; None before (the invoice is then a pro-forma).
    invoice_number: str | None = None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lines: list[OrderLineRead]
    timeline: list[OrderEventRead]
    # Only in the answer to a guest's POST /orders: their key to the order (X-Order-Token).
    access_token: str | None = None


class TrackedOrder(BaseModel):
    """What a guest sees when tracking: no address, no contact details."""

    number: str
    status: OrderStatus
    payment_status: PaymentStatus
    currency: str
    total: DecimalAmount
    carrier: str | None
    tracking_number: str | None
    created_at: datetime
    lines: list[dict[str, Any]]
    timeline: list[OrderEventRead]


class CancelIn(InputModel):
    reason: Note | None = None


StaffTarget = Literal["confirmed", "processing", "shipped", "delivered", "cancelled", "returned"]


class OrderUpdate(InputModel):
    """Staff move an order along the state machine, optionally with a note, carrier and tracking number."""

    status: StaffTarget | None = None
    note: Note | None = None
    carrier: Carrier | None = None
    tracking_number: Label | None = None

    @model_validator(mode="after")
    def _something(self) -> OrderUpdate:
        if all(v is None for v in (self.status, self.note, self.carrier, self.tracking_number)):
            raise ValueError("Give a status, a note, a carrier or a tracking number.")
        return self


@dataclass(frozen=True)
class SavedFilterRead:
    id: int
    name: str
    query: str
