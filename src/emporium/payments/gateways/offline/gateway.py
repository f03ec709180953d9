"""Gateways that take no money online: cash on delivery and bank transfer.

Their orders wait for staff, for ``offline_order_timeout_hours`` at most (then they expire and release their
stock, orders/limits.py). Cash on delivery: staff confirm the order (the reservation becomes a deduction) and
the money is recorded when the parcel is delivered. Bank transfer: the order waits in
``pending_verification`` with the shop's payment instructions until staff record the transfer.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.payments.gateways.base import (
    GatewayError,
    GatewayEvent,
    InvalidWebhook,
    PaymentResult,
    RefundRequest,
    RefundResult,
    StartRequest,
)


class OfflineGateway:
    online = False
    # Staff give cash or a transfer back by hand; the ledger records it when they say so.
    refunds_by_hand = False
    reconcile_events: frozenset[str] = frozenset()

    def __init__(self, name: str, title: str) -> None:
        self.name = name
        self.title = title

    async def start(self, session: AsyncSession, request: StartRequest) -> PaymentResult:
        raise GatewayError(f"{self.title} is not paid online")

    async def retrieve(self, session: AsyncSession, reference: str) -> PaymentResult:
        raise GatewayError(f"{self.title} has nothing to look up")

    async def refund(self, session: AsyncSession, request: RefundRequest) -> RefundResult:
        # The money went by hand or by bank: staff give it back the same way, and the ledger records it.
        return RefundResult(reference=f"manual-{request.idempotency_key}"[:200], succeeded=True)

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        raise InvalidWebhook(f"{self.title} sends no webhooks")


CASH_ON_DELIVERY = "cash_on_delivery"
BANK_TRANSFER = "bank_transfer"


def cash_on_delivery() -> OfflineGateway:
    return OfflineGateway(CASH_ON_DELIVERY, "Cash on delivery")


def bank_transfer() -> OfflineGateway:
    return OfflineGateway(BANK_TRANSFER, "Bank transfer")
