"""Request and response bodies of the payments API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from emporium.core.card_numbers import NoCardNumber
from emporium.core.money import DecimalAmount
from emporium.core.params import MAX_ID
from emporium.core.schemas import InputModel

Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NoCardNumber]


def _positive(value: Decimal) -> Decimal:
    if value <= 0 or value > Decimal("1000000000000"):
        raise ValueError("An amount above 0 is needed.")
    return value


Amount = Annotated[DecimalAmount, AfterValidator(_positive)]


class StartIn(InputModel):
    order_id: Id


class ProcessIn(InputModel):
    """Seed 002 ``POST /payments/process``: the order and the method it is paid with (the order's own)."""

    order_id: Id
    payment_method: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)] | None
    ) = None


class ConfirmIn(InputModel):
    payment_id: Id


class RefundIn(InputModel):
    order_id: Id
    amount: Amount | None = None
    reason: Reason


class TransferIn(InputModel):
    order_id: Id
    amount: Amount
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class PaymentRead(BaseModel):
    id: int
    order_id: int
    gateway: str
    state: str
    amount: DecimalAmount
    currency: str
    client_secret: str | None
    next_action: dict[str, Any] | None
    # Gateway-specific facts for the shopper and staff: a crypto address and amount, a Lightning invoice,
    # an under- or overpayment.
    details: dict[str, Any]
    expires_at: datetime | None
    card_brand: str | None
    card_last4: str | None
    error: str | None
    created_at: datetime


class TransactionRead(BaseModel):
    id: int
    kind: str
    status: str
    amount: DecimalAmount
    currency: str
    gateway: str
    gateway_reference: str | None
    error: str | None
    reason: str | None
    created_at: datetime


class OrderPayments(BaseModel):
    order_id: int
    payment_status: str
    captured: DecimalAmount
    refunded: DecimalAmount
    refundable: DecimalAmount
    payments: list[PaymentRead]
    transactions: list[TransactionRead]


class MethodRead(BaseModel):
    code: str
    title: str
    online: bool
    instructions: str | None
