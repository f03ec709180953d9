"""The product list's URL as one model: the filter form, the keyset pages, the bulk edits of "every product of
this filter" and the export link all read the same parameters, so they always mean the same products."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from emporium.admin.params import OPTIONAL_TEXT
from emporium.catalog.schemas import StaffProductFilters, StaffSort
from emporium.core.errors import ValidationFailed
from emporium.core.params import MAX_ID

SORT_NAMES: dict[str, str] = {
    "newest": "Newest first",
    "name": "Name, A to Z",
    "price_asc": "Price, low to high",
    "price_desc": "Price, high to low",
    "stock": "Stock, lowest first",
}
STATUS_NAMES = {"draft": "Draft", "active": "Active", "archived": "Archived"}
STOCK_NAMES = {"in": "In stock", "low": "Low stock", "out": "Out of stock"}
FILTER_FIELDS = ("q", "status", "category", "brand", "stock", "featured", "sort")
_ID = rf"^([1-9]\d{{0,{len(str(MAX_ID)) - 1}}})?$"


class ProductTableQuery(BaseModel):
    """A filter form sends its empty fields too, so empty means "no filter"."""

    model_config = ConfigDict(extra="ignore")

    q: Annotated[str, Field(max_length=100, pattern=OPTIONAL_TEXT)] = ""
    status: Annotated[str, Field(pattern=r"^(draft|active|archived)?$")] = ""
    category: Annotated[str, Field(max_length=20, pattern=_ID)] = ""
    brand: Annotated[str, Field(max_length=20, pattern=_ID)] = ""
    stock: Annotated[str, Field(pattern=r"^(in|low|out)?$")] = ""
    featured: Annotated[str, Field(pattern=r"^(yes|no)?$")] = ""
    sort: StaffSort = "newest"
    after: Annotated[str, Field(max_length=300, pattern=r"^[A-Za-z0-9_-]*$")] = ""
    limit: Annotated[int, Field(ge=10, le=200)] = 50

    def params(self) -> dict[str, str]:
        """The filters as the URL writes them (empty ones left out; the page never)."""
        values = {
            "q": self.q.strip(),
            "status": self.status,
            "category": self.category,
            "brand": self.brand,
            "stock": self.stock,
            "featured": self.featured,
            "sort": "" if self.sort == "newest" else self.sort,
        }
        return {name: value for name, value in values.items() if value}

    def query_string(self) -> str:
        return urlencode(self.params())

    def export_query(self) -> str:
        """The filters without the sort, for the catalog export of "this filter"."""
        return urlencode({k: v for k, v in self.params().items() if k != "sort"})

    def filters(self) -> StaffProductFilters:
        stock: Literal["in", "low", "out"] | None = (
            "in" if self.stock == "in" else "low" if self.stock == "low" else "out" if self.stock else None
        )
        return StaffProductFilters(
            q=self.q.strip() or None,
            status=self.status or None,
            category_id=int(self.category) if self.category else None,
            brand_id=int(self.brand) if self.brand else None,
            stock=stock,
            featured=None if not self.featured else self.featured == "yes",
        )


def parse_query(text: str) -> ProductTableQuery:
    """A query string carried by a form (the list's filters), checked as the list checks its URL."""
    pairs = parse_qsl(text.lstrip("?"), keep_blank_values=True, max_num_fields=20)
    try:
        return ProductTableQuery.model_validate({k: v for k, v in pairs if k in FILTER_FIELDS})
    except ValidationError as exc:
        raise ValidationFailed(
            "These filters are not valid: go back to the list and choose them again.",
            details=[{"field": "query", "message": "not a valid set of product filters"}],
        ) from exc
