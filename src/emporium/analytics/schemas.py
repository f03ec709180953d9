"""What the figures and reports answer (API and pages alike). Amounts are decimal strings in the shop's
currency, named once per answer; dates are the shop's local dates."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from emporium.analytics.periods import Granularity, Period
from emporium.core.money import DecimalAmount
from emporium.orders.schemas import OrderStatus


class WindowRead(BaseModel):
    start: datetime
    end: datetime


class CountFigure(BaseModel):
    current: int
    previous: int
    # Relative change in percent, one decimal; None when the previous period had none.
    change_percent: DecimalAmount | None


class AmountFigure(BaseModel):
    current: DecimalAmount
    previous: DecimalAmount
    change_percent: DecimalAmount | None


class OptionalAmountFigure(BaseModel):
    """An amount that may not exist (an average of no orders)."""

    current: DecimalAmount | None
    previous: DecimalAmount | None
    change_percent: DecimalAmount | None


class RateFigure(BaseModel):
    """A ratio as a percentage (two decimals); the change is in percentage points."""

    current_percent: DecimalAmount | None
    previous_percent: DecimalAmount | None
    change_points: DecimalAmount | None


class Figures(BaseModel):
    revenue: AmountFigure
    gross_sales: AmountFigure
    refunds: AmountFigure
    orders: CountFigure
    average_order_value: OptionalAmountFigure
    new_customers: CountFigure
    carts_created: CountFigure
    conversion: RateFigure
    abandoned_carts: CountFigure


class SalesRow(BaseModel):
    """One bucket of sales: orders placed and their totals, refunds made, and what is left."""

    label: str
    start: date
    orders: int
    gross_sales: DecimalAmount
    refunds: int
    refunded: DecimalAmount
    revenue: DecimalAmount
    # Gross sales divided by orders, rounded half to even; None without orders.
    average_order_value: DecimalAmount | None


class StatusCount(BaseModel):
    status: OrderStatus
    orders: int


class ProductRow(BaseModel):
    product_id: int
    name: str
    orders: int
    units: int
    sales: DecimalAmount


class CategoryRow(BaseModel):
    # None: products in no category.
    category: str | None
    orders: int
    units: int
    sales: DecimalAmount


class PaymentMethodRow(BaseModel):
    payment_method: str
    orders: int
    gross_sales: DecimalAmount
    refunded: DecimalAmount
    revenue: DecimalAmount


class CouponRow(BaseModel):
    code: str
    orders: int
    discount: DecimalAmount
    gross_sales: DecimalAmount


class CustomerRow(BaseModel):
    label: str
    start: date
    new_customers: int
    returning_customers: int
    orders_from_new: int
    orders_from_returning: int
    sign_ups: int


class Tasks(BaseModel):
    """What waits for staff now, whatever the period."""

    # Confirmed (paid, or cash on delivery accepted), not yet being prepared.
    orders_to_fulfil: int
    # Being prepared, not yet shipped.
    orders_processing: int
    transfers_to_verify: int
    cash_on_delivery_to_confirm: int
    low_stock_pools: int
    dead_jobs: int


class HomeStats(BaseModel):
    period: Period
    time_zone: str
    currency: str
    granularity: Granularity
    current: WindowRead
    previous: WindowRead
    figures: Figures
    sales: list[SalesRow]
    orders_by_status: list[StatusCount]
    top_products: list[ProductRow]
    tasks: Tasks
    # When the figures were computed (the home page keeps them for a minute; the tasks are always now's).
    as_of: datetime | None = None


class Analytics(BaseModel):
    """Every report over one date range (``GET /admin/analytics``), with the range's figures against the
    range of as many days just before it."""

    date_from: date
    date_to: date
    granularity: Granularity
    time_zone: str
    currency: str
    figures: Figures
    sales: list[SalesRow]
    products: list[ProductRow]
    categories: list[CategoryRow]
    payment_methods: list[PaymentMethodRow]
    coupons: list[CouponRow]
    customers: list[CustomerRow]
