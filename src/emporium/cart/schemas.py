"""Request and response bodies of the cart API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

# Re-exported: pages and other domains name the limit through the schemas, never the models.
from emporium.cart.models import MAX_LINE_QUANTITY as MAX_LINE_QUANTITY
from emporium.core.money import DecimalAmount
from emporium.core.params import MAX_ID
from emporium.core.schemas import InputModel

# The most lines one request may add; a longer list is refused whole.
MAX_LINES_PER_ADD = 100

# Strict: 1.5 and "3" are refused, not rounded or parsed.
Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_LINE_QUANTITY)]
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


class ItemAdd(InputModel):
    variant_id: Id | None = None
    product_id: Id | None = None
    quantity: Quantity = 1

    @model_validator(mode="after")
    def _one_target(self) -> ItemAdd:
        if (self.variant_id is None) == (self.product_id is None):
            raise ValueError("Give either variant_id or product_id.")
        return self


class CartAdd(InputModel):
    """``POST /cart/items``: one line (``variant_id`` or ``product_id``, and ``quantity``), or several in
    ``items``. Lines of one variant are merged; the whole list goes in, or nothing does."""

    variant_id: Id | None = Field(default=None, description="One line: the variant to add.")
    product_id: Id | None = Field(
        default=None, description="One line: a product, whose default variant is added."
    )
    quantity: Quantity = Field(default=1, description="One line: how many.")
    items: list[ItemAdd] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_LINES_PER_ADD,
        description=f"Several lines at once (1 to {MAX_LINES_PER_ADD}), instead of the fields above.",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"variant_id": 12, "quantity": 2},
                {"items": [{"variant_id": 12, "quantity": 2}, {"product_id": 7, "quantity": 1}]},
            ]
        }
    }

    @model_validator(mode="after")
    def _one_shape(self) -> CartAdd:
        single = {"variant_id", "product_id", "quantity"} & self.model_fields_set
        if self.items is not None and single:
            raise ValueError("Give either items or one line's fields, not both.")
        if self.items is None and (self.variant_id is None) == (self.product_id is None):
            raise ValueError("Give either variant_id or product_id.")
        return self

    @property
    def many(self) -> bool:
        return self.items is not None

    def lines(self) -> list[ItemAdd]:
        if self.items is not None:
            return self.items
        return [ItemAdd(variant_id=self.variant_id, product_id=self.product_id, quantity=self.quantity)]


class ItemUpdate(InputModel):
    quantity: Quantity


class CouponIn(InputModel):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class CartLineRead(BaseModel):
    id: int
    variant_id: int
    product_id: int
    product_name: str
    product_slug: str
    variant_name: str
    sku: str
    options: dict[str, Any]
    quantity: int
    unit_price: DecimalAmount
    line_total: DecimalAmount
    # How many units of this line can be bought, given the other lines drawing on the same pool.
    units_available: int
    purchasable: bool
    notices: list[str]


class CartTotals(BaseModel):
    subtotal: DecimalAmount
    discount: DecimalAmount
    shipping: DecimalAmount
    tax: DecimalAmount
    total: DecimalAmount
    prices_include_tax: bool


class CouponState(BaseModel):
    code: str
    applied: bool
    problem: str | None


class CartRead(BaseModel):
    id: int | None
    currency: str
    items: list[CartLineRead]
    item_count: int
    coupon: CouponState | None
    totals: CartTotals
    shipping_method: str | None
    notices: list[str]
    expires_at: datetime | None


class LineCheck(BaseModel):
    cart_item_id: int
    variant_id: int
    purchasable: bool
    code: str | None
    reason: str | None
    units_available: int


class InventoryCheck(BaseModel):
    purchasable: bool
    lines: list[LineCheck]


class ShippingOptionRead(BaseModel):
    id: int
    name: str
    kind: str
    price: DecimalAmount
    details: dict[str, Any]
