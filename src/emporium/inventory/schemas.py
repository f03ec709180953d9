"""Inventory in and out: pools with their availability, on-hand updates and stock adjustments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from emporium.core.card_numbers import NoCardNumber
from emporium.core.params import MAX_ID
from emporium.core.schemas import InputModel

# On-hand quantities are pieces or grams; a quadrillion of either is beyond any shop and within BIGINT.
MAX_QUANTITY = 10**15

# Strict: "5", 5.0 and true are refused rather than guessed at.
Quantity = Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NoCardNumber]
PoolId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


class Input(InputModel):
    model_config = ConfigDict(extra="forbid")


class PoolSet(Input):
    pool_id: PoolId
    on_hand: Quantity
    reason: Reason = "Stock count"


class InventoryUpdate(Input):
    pools: Annotated[list[PoolSet], Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _distinct_pools(self) -> InventoryUpdate:
        ids = [pool.pool_id for pool in self.pools]
        if len(ids) != len(set(ids)):
            raise ValueError("Each pool may appear only once.")
        return self


class AdjustmentCreate(Input):
    delta: Annotated[int, Field(strict=True, ge=-MAX_QUANTITY, le=MAX_QUANTITY)]
    reason: Reason

    @field_validator("delta")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("The change must not be zero.")
        return value


class PoolRead(BaseModel):
    id: int
    name: str
    unit: str
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int
    low_stock: bool


class VariantStock(BaseModel):
    variant_id: int
    sku: str
    name: str
    is_active: bool
    draw_per_unit: int
    # How many of this variant can still be bought (availability.units_available).
    units_available: int
    pool: PoolRead


class ProductInventory(BaseModel):
    product_id: int
    name: str
    variants: list[VariantStock]


class AdjustmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    pool_id: int
    delta: int
    on_hand_after: int
    reason: str
    actor_user_id: int | None
    created_at: datetime


class ProductRef(BaseModel):
    id: int
    name: str
    slug: str


class LowStockPool(PoolRead):
    products: list[ProductRef]
