"""The ``stripe`` gateway: PaymentIntents through Stripe's official SDK, asynchronously over httpx.

The shop creates an intent for the server-side amount and hands its client secret to the browser, which
confirms it with stripe.js: a card number never reaches the shop (PCI DSS SAQ A). The outcome arrives as
a webhook signed in the ``Stripe-Signature`` header, or when the shop asks (``retrieve``, which
``/payments/confirm`` uses, also to reconcile after a timeout). Every call that moves money carries an
idempotency key, so a retried call after a timeout reaches the same intent or refund at Stripe.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import stripe
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.payments.config import StripeSettings
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
from emporium.payments.models import PaymentState
from emporium.payments.repository import PaymentRepository

log = structlog.get_logger(__name__)

NAME = "stripe"
SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300

# Stripe takes amounts in the currency's smallest unit, as the shop keeps them, with two exceptions: it
# cannot take crypto at all, and three-decimal currencies must be a multiple of ten.
UNSUPPORTED_CURRENCIES = frozenset({"BTC", "LTC", "XRP"})
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

_STATES: dict[str, PaymentState] = {
    "succeeded": PaymentState.SUCCEEDED,
    "processing": PaymentState.PROCESSING,
    # Automatic capture is requested, so an authorised intent is on its way to being captured.
    "requires_capture": PaymentState.PROCESSING,
    "canceled": PaymentState.CANCELED,
    "requires_action": PaymentState.REQUIRES_ACTION,
    "requires_confirmation": PaymentState.REQUIRES_ACTION,
}
_EVENT_STATES: dict[str, PaymentState] = {
    "payment_intent.succeeded": PaymentState.SUCCEEDED,
    "payment_intent.payment_failed": PaymentState.FAILED,
    "payment_intent.canceled": PaymentState.CANCELED,
}
# Stripe's refund reasons are a closed list; the staff's own words go in the metadata.
_REFUND_REASON = "requested_by_customer"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _amount(value: Any) -> int:
    # bool is an int in Python; an amount in an event is never one.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("an amount must be a whole number of minor units")
    return value


def _failure(intent: Mapping[str, Any]) -> dict[str, Any]:
    return _object(intent.get("last_payment_error"))


def intent_state(intent: Mapping[str, Any]) -> PaymentState:
    status = str(intent.get("status"))
    if status == "requires_payment_method":
        # A fresh intent waits for the browser; one that was declined has its last error set.
        return PaymentState.FAILED if _failure(intent) else PaymentState.REQUIRES_ACTION
    try:
        return _STATES[status]
    except KeyError as exc:
        raise GatewayError(f"Stripe answered an unknown payment status {status!r}") from exc


def _card(intent: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The brand and last four digits, when the latest charge came expanded with the intent."""
    charge = _object(intent.get("latest_charge"))
    card = _object(_object(charge.get("payment_method_details")).get("card"))
    brand, last4 = card.get("brand"), card.get("last4")
    return (
        str(brand) if isinstance(brand, str) else None,
        str(last4) if isinstance(last4, str) and len(last4) == 4 and last4.isdigit() else None,
    )


def _charge_id(intent: Mapping[str, Any]) -> str | None:
    charge = intent.get("latest_charge")
    if isinstance(charge, dict):
        return str(charge.get("id"))
    return str(charge) if isinstance(charge, str) else None


def _summary(intent: Mapping[str, Any]) -> dict[str, Any]:
    """What the ledger keeps of an intent: never its client secret."""
    failure = _failure(intent)
    return {
        "id": intent.get("id"),
        "object": intent.get("object"),
        "status": intent.get("status"),
        "amount": intent.get("amount"),
        "amount_received": intent.get("amount_received"),
        "currency": intent.get("currency"),
        "latest_charge": _charge_id(intent),
        "last_payment_error": {key: failure.get(key) for key in ("type", "code", "decline_code", "message")}
        if failure
        else None,
    }


def _without_secrets(event: dict[str, Any]) -> dict[str, Any]:
    """The event as stored: a payment intent's client secret is left out."""
    data = _object(event.get("data"))
    obj = _object(data.get("object"))
    if "client_secret" not in obj:
        return event
    cleaned = {key: value for key, value in obj.items() if key != "client_secret"}
    return {**event, "data": {**data, "object": cleaned}}


def _gateway_error(exc: stripe.StripeError) -> GatewayError:
    if isinstance(exc, stripe.APIConnectionError):
        return GatewayError(
            "Stripe did not answer in time; the payment may still have been made. Try again with the same "
            "Idempotency-Key, or confirm the payment.",
            retryable=True,
        )
    if isinstance(exc, stripe.RateLimitError):
        return GatewayError("Stripe is busy; try again shortly.", retryable=True)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        log.error("stripe_credentials_refused", status=exc.http_status)
        return GatewayError("Stripe refused the shop's credentials.")
    # 409 (a concurrent request with the same key) and 5xx are APIError: trying again may help.
    retryable = isinstance(exc, stripe.APIError)
    return GatewayError(exc.user_message or "Stripe refused the request.", retryable=retryable)


class StripeGateway:
    name = NAME
    online = True
    title = "Card (Stripe)"
    refunds_by_hand = False
    reconcile_events: frozenset[str] = frozenset()

    def __init__(self, settings: StripeSettings) -> None:
        self.settings = settings

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[stripe.StripeClient]:
        key = self.settings.stripe_secret_key
        if key is None:
            raise GatewayError("Stripe is not configured.")
        # A client per call: its connection pool belongs to the running event loop and is closed after.
        http = stripe.HTTPXClient(timeout=self.settings.payment_http_timeout_seconds)
        base = self.settings.stripe_api_base
        try:
            yield stripe.StripeClient(
                key.get_secret_value(),
                base_addresses={"api": base.rstrip("/")} if base else None,
                http_client=http,
                # A timed-out call is retried by the caller with the same idempotency key, not here.
                max_network_retries=0,
            )
        finally:
            await http.close_async()  # type: ignore[no-untyped-call]

    def _result(self, intent: Mapping[str, Any]) -> PaymentResult:
        try:
            return self._read(intent)
        except (KeyError, TypeError, ValueError) as exc:
            raise GatewayError(f"Stripe answered an unreadable payment ({type(exc).__name__})") from exc

    def _read(self, intent: Mapping[str, Any]) -> PaymentResult:
        state = intent_state(intent)
        brand, last4 = _card(intent)
        secret = intent.get("client_secret")
        amount = _amount(intent.get("amount"))
        received = intent.get("amount_received")
        if state is PaymentState.SUCCEEDED and isinstance(received, int) and received > 0:
            amount = received
        failure = _failure(intent)
        details: dict[str, Any] = {"payment_intent": str(intent["id"])}
        if failure.get("decline_code"):
            details["decline_code"] = failure["decline_code"]
        return PaymentResult(
            reference=str(intent["id"]),
            state=state,
            amount_minor=amount,
            currency=str(intent.get("currency", "")).upper(),
            client_secret=str(secret) if secret else None,
            next_action={
                "type": "stripe_js",
                "client_secret": str(secret),
                "publishable_key": self.settings.stripe_publishable_key,
            }
            if state is PaymentState.REQUIRES_ACTION and secret
            else None,
            card_brand=brand,
            card_last4=last4,
            error=str(failure.get("message") or "The payment failed.")
            if state is PaymentState.FAILED
            else None,
            raw=_summary(intent),
            details=details,
        )

    async def start(self, session: AsyncSession, request: StartRequest) -> PaymentResult:
        currency = request.currency.upper()
        if currency in UNSUPPORTED_CURRENCIES:
            raise GatewayError(f"Stripe cannot take payments in {currency}.")
        if currency in THREE_DECIMAL_CURRENCIES and request.amount_minor % 10:
            raise GatewayError(f"Stripe takes {currency} amounts in multiples of 0.010 only.")
        # Earlier attempts of this order that were recorded (a declined one, say) make a new attempt a
        # new intent; a call that timed out recorded nothing, so its retry reaches the same intent.
        attempts = await PaymentRepository(session).payment_count(request.order_id)
        key = f"emporium:{request.idempotency_key}:{attempts}"
        try:
            async with self._client() as client:
                intent = await client.v1.payment_intents.create_async(
                    {
                        "amount": request.amount_minor,
                        "currency": currency.lower(),
                        # Cards only: the shop keeps their brand and last four digits.
                        "allowed_payment_method_types": ["card"],
                        "description": f"Order {request.order_number}",
                        "metadata": {"order_id": str(request.order_id), "order_number": request.order_number},
                    },
                    {"idempotency_key": key},
                )
                response = intent.last_response
                if response is not None and response.headers.get("idempotent-replayed") == "true":
                    # The first answer was lost (a timeout): what the intent is now, not then.
                    intent = await client.v1.payment_intents.retrieve_async(
                        intent.id, {"expand": ["latest_charge"]}
                    )
        except stripe.StripeError as exc:
            raise _gateway_error(exc) from exc
        return self._result(intent.to_dict())

    async def retrieve(self, session: AsyncSession, reference: str) -> PaymentResult:
        try:
            async with self._client() as client:
                intent = await client.v1.payment_intents.retrieve_async(
                    reference, {"expand": ["latest_charge"]}
                )
        except stripe.StripeError as exc:
            raise _gateway_error(exc) from exc
        return self._result(intent.to_dict())

    async def refund(self, session: AsyncSession, request: RefundRequest) -> RefundResult:
        metadata = {"reason": request.reason[:500]} if request.reason else {}
        try:
            async with self._client() as client:
                refund = await client.v1.refunds.create_async(
                    {
                        "payment_intent": request.payment_reference,
                        "amount": request.amount_minor,
                        "reason": _REFUND_REASON,
                        "metadata": metadata,
                    },
                    {"idempotency_key": f"emporium:refund:{request.idempotency_key}"},
                )
        except (stripe.InvalidRequestError, stripe.CardError) as exc:
            # Stripe refused this refund (more than is left on the charge, a disputed charge...).
            return RefundResult(
                reference="",
                succeeded=False,
                error=exc.user_message or "Stripe refused the refund.",
                raw={"code": exc.code},
            )
        except stripe.StripeError as exc:
            raise _gateway_error(exc) from exc
        raw = refund.to_dict()
        status = str(raw.get("status"))
        summary = {key: raw.get(key) for key in ("id", "object", "status", "amount", "currency", "charge")}
        if status in ("failed", "canceled"):
            reason = raw.get("failure_reason") or status
            return RefundResult(
                str(raw["id"]), succeeded=False, error=f"Stripe could not refund: {reason}.", raw=summary
            )
        # "pending" (and "requires_action") refunds are accepted by Stripe and counted as given back.
        return RefundResult(str(raw["id"]), succeeded=True, raw=summary)

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        secret = self.settings.stripe_webhook_secret
        if secret is None:
            raise InvalidWebhook("Stripe webhooks are not configured")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidWebhook("the body is not UTF-8") from exc
        header = headers.get(SIGNATURE_HEADER.lower())
        try:
            stripe.WebhookSignature.verify_header(text, header, secret.get_secret_value(), TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError as exc:
            raise InvalidWebhook("the Stripe signature does not match or is too old") from exc
        signing.check_fresh(header, tolerance=TOLERANCE_SECONDS)
        try:
            event = json.loads(text)
            return self._event(event)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidWebhook(f"unreadable event: {type(exc).__name__}") from exc

    def _event(self, event: dict[str, Any]) -> GatewayEvent:
        event_id, kind = str(event["id"]), str(event["type"])
        obj = event["data"]["object"]
        stored = _without_secrets(event)
        if kind in _EVENT_STATES:
            state = _EVENT_STATES[kind]
            amount = _amount(obj["amount"])
            if state is PaymentState.SUCCEEDED and obj.get("amount_received"):
                amount = _amount(obj["amount_received"])
            error = None
            if state is PaymentState.FAILED:
                error = str(_failure(obj).get("message") or "The payment failed.")
            elif state is PaymentState.CANCELED:
                error = f"The payment was canceled ({obj.get('cancellation_reason') or 'no reason given'})."
            brand, last4 = _card(obj)
            return GatewayEvent(
                event_id=event_id,
                event_type=kind,
                payment_reference=str(obj["id"]),
                state=state,
                amount_minor=amount,
                card_brand=brand,
                card_last4=last4,
                error=error,
                payload=stored,
                currency=str(obj["currency"]) if obj.get("currency") else None,
            )
        if kind == "charge.refunded":
            # The running total refunded of the charge, also what was refunded in Stripe's dashboard.
            intent = obj.get("payment_intent")
            return GatewayEvent(
                event_id=event_id,
                event_type=kind,
                payment_reference=str(intent) if isinstance(intent, str) else None,
                state=None,
                amount_minor=_amount(obj["amount"]),
                refunded_minor=_amount(obj["amount_refunded"]),
                payload=stored,
            )
        # Acknowledged and ignored: no payment reference, no state.
        return GatewayEvent(
            event_id=event_id, event_type=kind, payment_reference=None, state=None, payload=stored
        )
