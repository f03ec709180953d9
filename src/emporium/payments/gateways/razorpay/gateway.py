"""The ``razorpay`` gateway: Razorpay Orders through the official (synchronous) SDK, run in a worker
thread so the event loop never waits on the network.

The flow of seed 003: ``start`` creates a Razorpay order for the order's total (minor units: paise for
INR) and the shopper pays it in Razorpay Checkout; the browser hands back ``razorpay_payment_id`` and a
signature, which the shop verifies against the Razorpay order id it stored (``checkout_signature_valid``)
before asking Razorpay what became of the payment (``confirm_checkout``). Razorpay's webhooks are signed
with their own secret over the raw body. The payment's reference in Emporium is the Razorpay order id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import razorpay  # type: ignore[import-untyped]
import requests
from razorpay.errors import BadRequestError  # type: ignore[import-untyped]
from razorpay.errors import GatewayError as RazorpayGatewayError
from razorpay.errors import ServerError as RazorpayServerError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.payments.config import RazorpaySettings
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

NAME = "razorpay"
SIGNATURE_HEADER = "x-razorpay-signature"
EVENT_ID_HEADER = "x-razorpay-event-id"
CHECKOUT = "razorpay_checkout"

HANDLED = frozenset({"payment.captured", "payment.failed", "order.paid", "refund.processed"})
_EVENT_ID = re.compile(r"[A-Za-z0-9_\-]{1,100}")
# Payment statuses after which the money was taken (a refunded payment was captured first).
_CAPTURED = frozenset({"captured", "refunded"})


class RazorpayRefused(GatewayError):
    """Razorpay answered the call with BAD_REQUEST_ERROR: the request itself is wrong, retrying won't help."""


class _Unreachable(Exception):
    """Raised by the HTTP session instead of requests' own errors, which the SDK would print and re-raise."""


class _Session:
    """What the SDK needs of a ``requests.Session``: every call gets the shop's timeout, and a network
    failure comes out as ``_Unreachable``."""

    def __init__(self, timeout: float) -> None:
        self._session = requests.Session()
        self._timeout = timeout

    def _send(self, method: str, url: str, **options: Any) -> Any:
        options.setdefault("timeout", self._timeout)
        try:
            return self._session.request(method, url, **options)
        except requests.RequestException as exc:
            raise _Unreachable(type(exc).__name__) from exc

    def get(self, url: str, **options: Any) -> Any:
        return self._send("GET", url, **options)

    def post(self, url: str, **options: Any) -> Any:
        return self._send("POST", url, **options)

    def patch(self, url: str, **options: Any) -> Any:
        return self._send("PATCH", url, **options)

    def put(self, url: str, **options: Any) -> Any:
        return self._send("PUT", url, **options)

    def delete(self, url: str, **options: Any) -> Any:
        return self._send("DELETE", url, **options)


def checkout_signature(razorpay_order_id: str, razorpay_payment_id: str, key_secret: str) -> str:
    """Razorpay Checkout's signature: HMAC-SHA256 of ``"<order id>|<payment id>"`` with the key secret."""
    message = f"{razorpay_order_id}|{razorpay_payment_id}".encode()
    return hmac.new(key_secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def refund_receipt(idempotency_key: str) -> str:
    """Razorpay keeps no idempotency keys for refunds: the receipt (at most 40 characters) carries a
    digest of ours, so a retry after a timeout finds the refund it already made."""
    return "rf_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def _card(entity: Mapping[str, Any]) -> tuple[str | None, str | None]:
    card = entity.get("card")
    if not isinstance(card, dict):
        return None, None
    network, last4 = card.get("network"), card.get("last4")
    brand = str(network).lower()[:20] if network else None
    digits = str(last4) if isinstance(last4, str) and last4.isdigit() and len(last4) == 4 else None
    return brand, digits


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an integer amount")
    return value


def _refundable(payment: Mapping[str, Any]) -> int:
    amount, refunded = payment.get("amount"), payment.get("amount_refunded") or 0
    if not isinstance(amount, int) or not isinstance(refunded, int):
        return 0
    return amount - refunded


class RazorpayGateway:
    name = NAME
    online = True
    title = "Razorpay (UPI, cards, netbanking, wallets)"
    refunds_by_hand = False
    reconcile_events: frozenset[str] = frozenset()

    def __init__(self, settings: RazorpaySettings) -> None:
        self.settings = settings
        self._client: Any = None

    # Calling Razorpay -------------------------------------------------------------------------------------

    def _sdk(self) -> Any:
        if self._client is None:
            secret = self.settings.razorpay_key_secret
            if not self.settings.razorpay_key_id or secret is None:
                raise GatewayError("Razorpay is not configured.")
            options: dict[str, Any] = {}
            if self.settings.razorpay_api_base:
                options["base_url"] = self.settings.razorpay_api_base.rstrip("/")
            self._client = razorpay.Client(
                session=_Session(self.settings.payment_http_timeout_seconds),
                auth=(self.settings.razorpay_key_id, secret.get_secret_value()),
                **options,
            )
        return self._client

    async def _call(self, method: Callable[[Any], Callable[..., Any]], *args: Any) -> dict[str, Any]:
        """One SDK call in a worker thread, its failures turned into GatewayError."""
        client = self._sdk()
        try:
            answer = await asyncio.to_thread(method(client), *args)
        except BadRequestError as exc:
            raise RazorpayRefused(str(exc) or "Razorpay refused the request.") from exc
        except (RazorpayServerError, RazorpayGatewayError) as exc:
            raise GatewayError(f"Razorpay failed: {exc}", retryable=True) from exc
        except _Unreachable as exc:
            raise GatewayError(f"Razorpay could not be reached ({exc}).", retryable=True) from exc
        except (requests.RequestException, ValueError) as exc:  # an answer that is not JSON
            raise GatewayError("Razorpay gave an unreadable answer.", retryable=True) from exc
        if not isinstance(answer, dict):
            raise GatewayError("Razorpay gave an unexpected answer.", retryable=True)
        return answer

    async def _payments_of(self, order_id: str) -> list[dict[str, Any]]:
        answer = await self._call(lambda c: c.order.payments, order_id)
        items = answer.get("items")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []

    # The Gateway interface --------------------------------------------------------------------------------

    async def start(self, session: AsyncSession, request: StartRequest) -> PaymentResult:
        order = await self._call(
            lambda c: c.order.create,
            {
                "amount": request.amount_minor,
                "currency": request.currency,
                "receipt": request.order_number[:40],
                "notes": {"order_id": str(request.order_id), "order_number": request.order_number},
            },
        )
        reference = order.get("id")
        if not isinstance(reference, str) or not reference:
            raise GatewayError("Razorpay created an order without an id.", retryable=True)
        if order.get("amount") != request.amount_minor or order.get("currency") != request.currency:
            raise GatewayError("Razorpay created an order for another amount.")
        return PaymentResult(
            reference=reference,
            state=PaymentState.REQUIRES_ACTION,
            amount_minor=request.amount_minor,
            currency=request.currency,
            next_action={
                "type": CHECKOUT,
                "key_id": self.settings.razorpay_key_id,
                "order_id": reference,
                "amount": request.amount_minor,
                "currency": request.currency,
                "name": self.settings.shop_name,
            },
            raw=order,
            details={"razorpay_order_id": reference},
        )

    async def retrieve(self, session: AsyncSession, reference: str) -> PaymentResult:
        """What Razorpay says of the order's payments; an authorized one is captured (Razorpay voids
        payments left authorized), but never a second one once one is captured."""
        order = await self._call(lambda c: c.order.fetch, reference)
        items = await self._payments_of(reference)
        captured = [p for p in items if p.get("status") in _CAPTURED]
        authorized = [p for p in items if p.get("status") == "authorized"]
        if captured:
            return self._result(reference, captured[0])
        if authorized:
            return await self._settle(reference, authorized[0])
        failed = [p for p in items if p.get("status") == "failed"]
        if items and len(failed) == len(items):
            return self._result(reference, failed[-1])
        try:
            amount, currency = _int(order.get("amount")), str(order["currency"])
        except (KeyError, TypeError) as exc:
            raise GatewayError("Razorpay gave an unreadable order.", retryable=True) from exc
        state = PaymentState.PROCESSING if items else PaymentState.REQUIRES_ACTION
        return PaymentResult(
            reference=reference, state=state, amount_minor=amount, currency=currency, raw=order
        )

    async def refund(self, session: AsyncSession, request: RefundRequest) -> RefundResult:
        """Refund from the captured payment of the Razorpay order that still holds enough; a refund
        already made with this key (its answer lost to a timeout) is handed back instead of a second."""
        receipt = refund_receipt(request.idempotency_key)
        captured = [
            p for p in await self._payments_of(request.payment_reference) if p.get("status") in _CAPTURED
        ]
        for payment in captured:
            earlier = await self._call(
                lambda c: c.payment.fetch_multiple_refund, str(payment["id"]), {"count": 100}
            )
            for made in earlier.get("items") or []:
                if isinstance(made, dict) and made.get("receipt") == receipt:
                    return self._refund_result(made)
        refundable = [p for p in captured if _refundable(p) >= request.amount_minor]
        if not refundable:
            return RefundResult("", succeeded=False, error="No captured Razorpay payment holds this amount.")
        body: dict[str, Any] = {"amount": request.amount_minor, "receipt": receipt}
        if request.reason:
            body["notes"] = {"reason": request.reason[:255]}
        try:
            made = await self._call(lambda c: c.payment.refund, str(refundable[0]["id"]), body)
        except RazorpayRefused as exc:
            return RefundResult("", succeeded=False, error=str(exc))
        return self._refund_result(made)

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        secret = self.settings.razorpay_webhook_secret
        if secret is None:
            raise InvalidWebhook("Razorpay webhooks are not configured")
        signature = headers.get(SIGNATURE_HEADER)
        if not signature:
            raise InvalidWebhook("missing signature header")
        expected = webhook_signature(body, secret.get_secret_value())
        if not hmac.compare_digest(expected, signature.strip()):
            raise InvalidWebhook("signature does not match")
        # Razorpay names each event in a header; without one, the same body is the same event.
        event_id = headers.get(EVENT_ID_HEADER)
        if event_id is None:
            event_id = f"body-{hashlib.sha256(body).hexdigest()}"
        elif not _EVENT_ID.fullmatch(event_id):
            raise InvalidWebhook("malformed event id")
        try:
            event = json.loads(body)
            return self._event(event_id, event)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidWebhook(f"unreadable event: {type(exc).__name__}") from exc

    # What only Razorpay Checkout needs ---------------------------------------------------------------------

    def checkout_signature_valid(self, razorpay_order_id: str, payment_id: str, signature: str) -> bool:
        secret = self.settings.razorpay_key_secret
        if secret is None:
            return False
        expected = checkout_signature(razorpay_order_id, payment_id, secret.get_secret_value())
        return hmac.compare_digest(expected, signature.lower())

    async def confirm_checkout(self, reference: str, payment_id: str) -> PaymentResult:
        """The payment Checkout reported, as Razorpay has it, captured when only authorized. A payment of
        another Razorpay order is refused."""
        entity = await self._call(lambda c: c.payment.fetch, payment_id)
        if entity.get("order_id") != reference:
            raise RazorpayRefused("This payment belongs to another Razorpay order.")
        return await self._settle(reference, entity)

    # Reading Razorpay's answers ---------------------------------------------------------------------------

    async def _settle(self, reference: str, entity: dict[str, Any]) -> PaymentResult:
        if entity.get("status") != "authorized":
            return self._result(reference, entity)
        payment_id = str(entity["id"])
        try:
            entity = await self._call(
                lambda c: c.payment.capture,
                payment_id,
                entity.get("amount"),
                {"currency": entity.get("currency")},
            )
        except RazorpayRefused:
            # Captured meanwhile by a concurrent confirmation: what counts is what Razorpay now holds.
            entity = await self._call(lambda c: c.payment.fetch, payment_id)
        return self._result(reference, entity)

    def _result(self, reference: str, entity: Mapping[str, Any]) -> PaymentResult:
        try:
            status, amount, currency = str(entity["status"]), _int(entity["amount"]), str(entity["currency"])
        except (KeyError, TypeError) as exc:
            raise GatewayError("Razorpay gave an unreadable payment.", retryable=True) from exc
        if status in _CAPTURED:
            state = PaymentState.SUCCEEDED
        elif status == "failed":
            state = PaymentState.FAILED
        else:  # created, or authorized and not captured here
            state = PaymentState.PROCESSING
        brand, last4 = _card(entity)
        error = entity.get("error_description") if state is PaymentState.FAILED else None
        details = {"razorpay_order_id": reference, "razorpay_payment_id": str(entity.get("id"))}
        if entity.get("method"):
            details["method"] = str(entity["method"])
        return PaymentResult(
            reference=reference,
            state=state,
            amount_minor=amount,
            currency=currency,
            card_brand=brand,
            card_last4=last4,
            error=str(error)[:500]
            if error
            else ("The payment failed." if state is PaymentState.FAILED else None),
            raw=dict(entity),
            details=details,
        )

    def _refund_result(self, refund: Mapping[str, Any]) -> RefundResult:
        status = refund.get("status")
        # ``pending`` is accepted and settles later; only ``failed`` is a refusal.
        succeeded = status in ("processed", "pending")
        return RefundResult(
            str(refund.get("id") or ""),
            succeeded=succeeded,
            error=None if succeeded else "Razorpay could not make the refund.",
            raw=dict(refund),
        )

    def _event(self, event_id: str, event: dict[str, Any]) -> GatewayEvent:
        kind = str(event["event"])
        if kind not in HANDLED:
            return GatewayEvent(event_id, kind, payment_reference=None, state=None, payload=event)
        payload = event["payload"]
        payment = payload["payment"]["entity"] if "payment" in payload else {}
        brand, last4 = _card(payment)
        if kind == "order.paid":
            order = payload["order"]["entity"]
            return GatewayEvent(
                event_id,
                kind,
                payment_reference=str(order["id"]),
                state=PaymentState.SUCCEEDED,
                amount_minor=_int(order["amount_paid"]),
                card_brand=brand,
                card_last4=last4,
                payload=event,
            )
        reference = payment.get("order_id")
        reference = reference if isinstance(reference, str) and reference else None
        if kind == "refund.processed":
            # The payment entity's amount_refunded is the running total refunded of that payment.
            return GatewayEvent(
                event_id,
                kind,
                payment_reference=reference,
                state=None,
                refunded_minor=_int(payment["amount_refunded"]),
                payload=event,
            )
        failed = kind == "payment.failed"
        return GatewayEvent(
            event_id,
            kind,
            payment_reference=reference,
            state=PaymentState.FAILED if failed else PaymentState.SUCCEEDED,
            amount_minor=_int(payment["amount"]),
            card_brand=brand,
            card_last4=last4,
            error=str(payment.get("error_description") or "The payment failed.")[:500] if failed else None,
            payload=event,
        )
