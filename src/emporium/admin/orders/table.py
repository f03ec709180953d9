"""The order table's query (one model for the URL, the filter form and saved filters) and its cells (one
function for the HTML table and the CSV export, so the two always say the same)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from emporium.admin.params import OPTIONAL_TEXT, parse_day
from emporium.analytics.periods import local_midnight
from emporium.core.errors import ValidationFailed
from emporium.core.money import money_text
from emporium.orders.names import order_status_name, payment_method_name, payment_status_name
from emporium.orders.schemas import OrderRow, OrderSearch, OrderSort, OrderStatus, PaymentStatus

_ORDER_STATUSES = "|".join(s.value for s in OrderStatus)
_PAYMENT_STATUSES = "|".join(s.value for s in PaymentStatus)
_DAY = r"^(\d{4}-\d{2}-\d{2})?$"
# The filters a saved filter keeps (never the page it was on).
FILTER_FIELDS = ("q", "status", "payment", "method", "from", "to", "coupon", "country", "sort")
TABLE_HEADER = [
    "Number",
    "Placed",
    "Customer",
    "E-mail",
    "Phone",
    "Status",
    "Payment",
    "Method",
    "Country",
    "Coupon",
    "Items",
    "Total",
]


class OrderTableQuery(BaseModel):
    """The order table's URL. A filter form sends its empty fields too, so empty means "no filter"."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    q: Annotated[str, Field(max_length=100, pattern=OPTIONAL_TEXT)] = ""
    status: Annotated[str, Field(pattern=rf"^({_ORDER_STATUSES})?$")] = ""
    payment: Annotated[str, Field(pattern=rf"^({_PAYMENT_STATUSES})?$")] = ""
    method: Annotated[str, Field(max_length=32, pattern=r"^[a-z_]*$")] = ""
    from_: Annotated[str, Field(alias="from", max_length=10, pattern=_DAY)] = ""
    to: Annotated[str, Field(max_length=10, pattern=_DAY)] = ""
    coupon: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")] = ""
    country: Annotated[str, Field(max_length=2, pattern=r"^([A-Za-z]{2})?$")] = ""
    sort: OrderSort = OrderSort.NEWEST
    after: Annotated[str, Field(max_length=300, pattern=r"^[A-Za-z0-9_-]*$")] = ""
    limit: Annotated[int, Field(ge=10, le=200)] = 50
    format: Literal["html", "csv"] = "html"

    def params(self) -> dict[str, str]:
        """The filters as the URL writes them (empty ones left out)."""
        values = {
            "q": self.q.strip(),
            "status": self.status,
            "payment": self.payment,
            "method": self.method,
            "from": self.from_,
            "to": self.to,
            "coupon": self.coupon.strip().upper(),
            "country": self.country.upper(),
            "sort": "" if self.sort is OrderSort.NEWEST else self.sort.value,
        }
        return {name: value for name, value in values.items() if value}

    def query_string(self) -> str:
        return urlencode(self.params())

    def search(self, zone: ZoneInfo) -> OrderSearch:
        """The service's search; days are whole days in the shop's time zone."""
        start, end = parse_day(self.from_, "from"), parse_day(self.to, "to")
        if start and end and end < start:
            raise invalid("to", "The end date is before the start date.")
        params = self.params()
        return OrderSearch(
            q=params.get("q"),
            status=self.status or None,
            payment_status=self.payment or None,
            payment_method=self.method or None,
            created_from=local_midnight(zone, start) if start else None,
            created_before=local_midnight(zone, end + timedelta(days=1)) if end else None,
            coupon=params.get("coupon"),
            country=params.get("country"),
            sort=self.sort,
        )


def invalid(field: str, message: str) -> ValidationFailed:
    """A refusal whose message is the one the page shows."""
    return ValidationFailed(message, details=[{"field": field, "message": message}])


def saved_query(text: str) -> str:
    """A query string offered to save, checked and written back in the table's own form (only filters)."""
    pairs = parse_qsl(text.lstrip("?"), keep_blank_values=True, max_num_fields=20)
    try:
        query = OrderTableQuery.model_validate({k: v for k, v in pairs if k in FILTER_FIELDS})
    except ValidationError as exc:
        raise ValidationFailed(
            "These filters cannot be saved: one of them is not valid.",
            details=[{"field": "query", "message": "not a valid set of order filters"}],
        ) from exc
    query.search(ZoneInfo("UTC"))  # the dates' order
    return query.query_string()


def row_cells(row: OrderRow, zone: ZoneInfo) -> list[str]:
    """The cells of one order in the table and in the CSV, in TABLE_HEADER's order."""
    return [
        row.number,
        row.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        row.name,
        row.email,
        row.phone or "",
        order_status_name(row.status),
        payment_status_name(row.payment_status),
        payment_method_name(row.payment_method),
        row.country or "",
        row.coupon_code or "",
        str(row.item_count),
        money_text(row.total_minor, row.currency),
    ]
