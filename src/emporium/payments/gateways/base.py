"""The one interface every payment gateway implements, with typed requests and results.

A gateway turns an order's amount into something the shopper can pay (``start``), tells what became of
it (``retrieve``, used to reconcile after a timeout), gives money back (``refund``) and proves that a
webhook really came from it (``parse_webhook``). Gateways never see an order row: the payments service
records what they answer in the ledger. Each call gets the caller's database session, for gateways that keep
provider-side facts in the shop's database (the test gateway's simulated provider, a crypto quote).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.payments.models import PaymentState


class GatewayError(Exception):
    """The gateway could not be reached or refused the call; ``retryable`` when trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class InvalidWebhook(Exception):
    """A webhook whose signature, age or shape is wrong: refused with 400 and never acted upon."""


@dataclass(frozen=True)
class StartRequest:
    order_id: int
    order_number: str
    amount_minor: int
    currency: str
    email: str
    idempotency_key: str
    # Where the shopper's browser goes back to when the gateway's page is done.
    return_url: str


@dataclass(frozen=True)
class PaymentResult:
    reference: str
    state: PaymentState
    amount_minor: int
    currency: str
    client_secret: str | None = None
    # What the shopper's browser must do next: {"type": "redirect", "url": ...} for a payment page.
    next_action: dict[str, Any] | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # Shown to the shopper and staff (kept on the payment row): see ``Payment.details``. Never a secret.
    details: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None


@dataclass(frozen=True)
class RefundRequest:
    payment_reference: str
    amount_minor: int
    currency: str
    reason: str | None
    idempotency_key: str


@dataclass(frozen=True)
class RefundResult:
    reference: str
    succeeded: bool
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayEvent:
    """A verified webhook, reduced to what the payments service acts on."""

    event_id: str
    event_type: str
    # The payment it is about (the gateway's reference) and what the gateway now says of it.
    payment_reference: str | None
    state: PaymentState | None
    amount_minor: int | None = None
    refunded_minor: int | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    error: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    # The currency of the amounts, when the provider says it (ISO 4217, any case).
    currency: str | None = None


class Gateway(Protocol):
    name: str
    # Offline gateways (cash on delivery, bank transfer) take no money online: there is nothing to start.
    online: bool
    title: str
    # Money this gateway cannot push back by itself (coins, Lightning): the automatic refund of a cancelled
    # order asks staff instead (an order event), and ``refund`` records what staff returned by hand.
    refunds_by_hand: bool
    # Webhook event types after which the shop itself must act at the provider (PayPal's approved order is
    # captured by the shop): the event's job calls ``retrieve``, which does what is due.
    reconcile_events: frozenset[str]

    async def start(self, session: AsyncSession, request: StartRequest) -> PaymentResult: ...

    async def retrieve(self, session: AsyncSession, reference: str) -> PaymentResult: ...

    async def refund(self, session: AsyncSession, request: RefundRequest) -> RefundResult: ...

    # Async: some providers (PayPal) verify a webhook by calling them back.
    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent: ...
