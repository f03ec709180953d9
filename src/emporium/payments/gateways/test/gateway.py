"""The built-in ``test`` gateway: a simulated card processor inside Emporium, for trying every payment
flow with no account anywhere.

It behaves like a hosted-payment-page provider. ``start`` opens a session and sends the shopper to a card
form served at ``/pay/test/{client_secret}``; the outcome reaches the shop as a signed webhook (Stripe's
signature scheme), or when the shop asks (``retrieve``). The documented test cards:

    4242 4242 4242 4242  succeeds
    4000 0000 0000 0002  is declined
    4000 0000 0000 9995  is declined for insufficient funds
    4000 0027 6000 3184  asks for a (simulated) 3-D Secure step first

Any other number is refused, so a real card can never be charged or kept here: the number is read in
memory, only its brand and last four digits are kept, and it is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.payments.gateways import signing
from emporium.payments.gateways.base import (
    GatewayError,
    GatewayEvent,
    InvalidWebhook,
    PaymentResult,
    RefundRequest,
    RefundResult,
    StartRequest,
)
from emporium.payments.gateways.test.repository import TestGatewayRepository
from emporium.payments.models import PaymentState, TestGatewaySession

NAME = "test"
SIGNATURE_HEADER = "Test-Gateway-Signature"

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"
THREE_D_SECURE = "4000002760003184"
TEST_CARDS = {SUCCEEDS, DECLINED, INSUFFICIENT_FUNDS, THREE_D_SECURE}
AWAITING_3DS = "awaiting_3ds"
OFF_IN_PRODUCTION = "The test payment page takes no real money and is off in production."


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def webhook_secret(settings: Settings) -> str:
    """The test gateway's endpoint secret: derived from the shop's secret key, so nothing to configure."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"emporium test gateway webhooks", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CardOutcome:
    state: PaymentState | None  # None: the 3-D Secure step comes first
    error: str | None


def outcome_of(number: str) -> CardOutcome:
    if number == SUCCEEDS:
        return CardOutcome(PaymentState.SUCCEEDED, None)
    if number == DECLINED:
        return CardOutcome(PaymentState.FAILED, "Your card was declined.")
    if number == INSUFFICIENT_FUNDS:
        return CardOutcome(PaymentState.FAILED, "Your card has insufficient funds.")
    return CardOutcome(None, None)


def _result(row: TestGatewaySession) -> PaymentResult:
    state = PaymentState.REQUIRES_ACTION if row.state == AWAITING_3DS else PaymentState(row.state)
    return PaymentResult(
        reference=row.reference,
        state=state,
        amount_minor=row.amount_minor,
        currency=row.currency,
        client_secret=row.client_secret,
        next_action={"type": "redirect", "url": f"/pay/test/{row.client_secret}"}
        if state is PaymentState.REQUIRES_ACTION
        else None,
        card_brand=row.card_brand,
        card_last4=row.card_last4,
        error=row.error,
        raw={"reference": row.reference, "state": row.state, "refunded_minor": row.refunded_minor},
    )


class TestGateway:
    __test__ = False  # not a pytest test class, whatever its name

    name = NAME
    online = True
    title = "Card (test mode)"
    refunds_by_hand = False
    reconcile_events: frozenset[str] = frozenset()

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def in_production(self) -> bool:
        # Production refuses to offer this gateway (core/production.py); this holds even if it were named.
        return self.settings.env == "production"

    async def start(self, session: AsyncSession, request: StartRequest) -> PaymentResult:
        if self.in_production:
            raise GatewayError(OFF_IN_PRODUCTION)
        row = TestGatewaySession(
            reference=f"tg_{secrets.token_hex(12)}",
            client_secret=secrets.token_urlsafe(24),
            amount_minor=request.amount_minor,
            refunded_minor=0,
            currency=request.currency,
            order_number=request.order_number,
            return_url=request.return_url,
            state=PaymentState.REQUIRES_ACTION,
        )
        session.add(row)
        await session.flush()
        return _result(row)

    async def retrieve(self, session: AsyncSession, reference: str) -> PaymentResult:
        row = await TestGatewayRepository(session).by_reference(reference)
        if row is None:
            raise GatewayError(f"no test payment {reference}")
        return _result(row)

    async def refund(self, session: AsyncSession, request: RefundRequest) -> RefundResult:
        refunded = await TestGatewayRepository(session).refund(
            request.payment_reference, request.amount_minor
        )
        reference = f"tgr_{secrets.token_hex(10)}"
        if refunded is None:
            return RefundResult(
                reference, succeeded=False, error="The payment cannot be refunded by this amount."
            )
        return RefundResult(reference, succeeded=True, raw={"refunded_minor": refunded})

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        if self.in_production:
            raise InvalidWebhook("the test gateway is off in production")
        signing.verify(body, headers.get(SIGNATURE_HEADER.lower()), webhook_secret(self.settings))
        try:
            event = json.loads(body)
            data = event["data"]
            state = PaymentState(data["state"]) if data.get("state") else None
            return GatewayEvent(
                event_id=str(event["id"]),
                event_type=str(event["type"]),
                payment_reference=str(data["reference"]),
                state=state,
                amount_minor=int(data["amount_minor"]),
                card_brand=data.get("card_brand"),
                card_last4=data.get("card_last4"),
                error=data.get("error"),
                payload=event,
                currency=str(data["currency"]) if data.get("currency") else None,
            )
        # OverflowError: an amount of 1e400 reads as infinity.
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            raise InvalidWebhook(f"unreadable event: {type(exc).__name__}") from exc

    # The simulated provider's own pages ------------------------------------------------------------------

    async def session_for(self, session: AsyncSession, client_secret: str) -> TestGatewaySession | None:
        return await TestGatewayRepository(session).by_client_secret(client_secret)

    def card_problem(self, number: str) -> str | None:
        if self.in_production:
            return OFF_IN_PRODUCTION
        digits = "".join(c for c in number if c.isdigit())
        if not luhn_valid(digits):
            return "This is not a valid card number."
        if digits not in TEST_CARDS:
            return "This is the test payment page: only the documented test cards work here."
        return None

    def pay(self, row: TestGatewaySession, number: str) -> dict[str, Any] | None:
        """Charge a test card (already checked by ``card_problem``); the event to send, or None while the
        3-D Secure step is pending."""
        digits = "".join(c for c in number if c.isdigit())
        row.card_brand, row.card_last4 = "visa", digits[-4:]
        outcome = outcome_of(digits)
        if outcome.state is None:
            row.state = AWAITING_3DS
            return None
        return self._settle(row, outcome.state, outcome.error)

    def finish_3ds(self, row: TestGatewaySession, approved: bool) -> dict[str, Any]:
        if approved:
            return self._settle(row, PaymentState.SUCCEEDED, None)
        return self._settle(row, PaymentState.FAILED, "The 3-D Secure check failed.")

    def _settle(self, row: TestGatewaySession, state: PaymentState, error: str | None) -> dict[str, Any]:
        row.state, row.error = state, error
        kind = "payment.succeeded" if state is PaymentState.SUCCEEDED else "payment.failed"
        return {
            "id": f"evt_{secrets.token_hex(12)}",
            "type": kind,
            "data": {
                "reference": row.reference,
                "state": state,
                "amount_minor": row.amount_minor,
                "currency": row.currency,
                "card_brand": row.card_brand,
                "card_last4": row.card_last4,
                "error": error,
            },
        }

    def signed(self, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(event, separators=(",", ":")).encode()
        return body, {SIGNATURE_HEADER.lower(): signing.sign(body, webhook_secret(self.settings))}
