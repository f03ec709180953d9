"""The ``paypal`` gateway: PayPal Checkout through the Orders v2 REST API, over httpx.

``start`` creates a PayPal order for the server-side total and sends the shopper to PayPal's approval
page; the payment's reference is the PayPal order id. Once the buyer approved it, the shop captures it
(``retrieve``, reached by ``/payments/confirm`` or by the job acting on ``CHECKOUT.ORDER.APPROVED``) with a
``PayPal-Request-Id`` derived from the order, so any retry gets the first capture back instead of a second
one. Refunds go to the capture, also under a ``PayPal-Request-Id``. Webhooks are verified by asking PayPal
(``/v1/notifications/verify-webhook-signature``) before anything in them is acted upon.

Calls are authenticated with an OAuth client-credentials token, cached per app until shortly before it
expires and fetched again when PayPal answers 401 (a token revoked or expired early).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.money import MoneyError
from emporium.payments.config import PayPalSettings
from emporium.payments.gateways.base import (
    GatewayError,
    GatewayEvent,
    InvalidWebhook,
    PaymentResult,
    RefundRequest,
    RefundResult,
    StartRequest,
)
from emporium.payments.gateways.paypal.wire import (
    PayPalError,
    error_of,
    first_capture,
    link_of,
    minor_of,
    paypal_amount,
    request_id,
)
from emporium.payments.models import PaymentState
from emporium.payments.repository import PaymentRepository

log = structlog.get_logger(__name__)

NAME = "paypal"

ORDER_APPROVED = "CHECKOUT.ORDER.APPROVED"
ORDER_VOIDED = "CHECKOUT.ORDER.VOIDED"
CAPTURE_COMPLETED = "PAYMENT.CAPTURE.COMPLETED"
CAPTURE_PENDING = "PAYMENT.CAPTURE.PENDING"
CAPTURE_DENIED = "PAYMENT.CAPTURE.DENIED"
CAPTURE_REFUNDED = "PAYMENT.CAPTURE.REFUNDED"

# The headers PayPal signs a delivery with; verify-webhook-signature needs every one of them.
WEBHOOK_HEADERS = {
    "auth_algo": "paypal-auth-algo",
    "cert_url": "paypal-cert-url",
    "transmission_id": "paypal-transmission-id",
    "transmission_sig": "paypal-transmission-sig",
    "transmission_time": "paypal-transmission-time",
}

# A cached token is dropped this long before PayPal says it expires, so no call goes out with one that
# dies on the way.
TOKEN_MARGIN_SECONDS = 120.0
# Capture and order statuses, as PayPal names them.
CAPTURED = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"})
CAPTURE_FAILED = frozenset({"DECLINED", "FAILED"})
AWAITING_BUYER = frozenset({"CREATED", "SAVED", "PAYER_ACTION_REQUIRED", "APPROVED"})
# A capture PayPal refuses because of the buyer's funding: the payment failed, the shopper may try again.
DECLINE_ISSUES = frozenset({"INSTRUMENT_DECLINED", "PAYER_CANNOT_PAY", "TRANSACTION_REFUSED"})


@dataclass(frozen=True)
class _Token:
    value: str
    good_until: float  # time.monotonic()


_tokens: dict[tuple[str, str, str], _Token] = {}
# One lock per event loop, so concurrent first calls fetch one token between them.
_token_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _token_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _token_locks.get(loop)
    if lock is None:
        lock = _token_locks[loop] = asyncio.Lock()
    return lock


class PayPalGateway:
    name = NAME
    online = True
    title = "PayPal"
    # Events after which the shop itself must act at PayPal (capture an approved order): the webhook job
    # asks ``retrieve``, which captures, instead of applying a state.
    reconcile_events = frozenset({ORDER_APPROVED})
    refunds_by_hand = False

    def __init__(self, settings: PayPalSettings) -> None:
        self.settings = settings
        self.api_base = settings.paypal_api_base.rstrip("/")

    # HTTP ---------------------------------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str]:
        secret = self.settings.paypal_client_secret
        if not self.settings.paypal_client_id or secret is None:
            raise GatewayError("PayPal is not configured (client id and secret)")
        return self.settings.paypal_client_id, secret.get_secret_value()

    def _cache_key(self) -> tuple[str, str, str]:
        client_id, secret = self._credentials()
        return self.api_base, client_id, hashlib.sha256(secret.encode()).hexdigest()

    async def _token(self, http: httpx.AsyncClient) -> str:
        key = self._cache_key()
        cached = _tokens.get(key)
        if cached is not None and cached.good_until > time.monotonic():
            return cached.value
        async with _token_lock():
            cached = _tokens.get(key)
            if cached is not None and cached.good_until > time.monotonic():
                return cached.value
            response = await http.post(
                "/v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=self._credentials(),
                headers={"Accept": "application/json"},
            )
            if response.status_code != 200:
                raise error_of(response)
            body = response.json()
            try:
                token, lifetime = str(body["access_token"]), float(body["expires_in"])
            except (KeyError, TypeError, ValueError) as exc:
                raise GatewayError("PayPal answered an unreadable token", retryable=True) from exc
            _tokens[key] = _Token(token, time.monotonic() + lifetime - TOKEN_MARGIN_SECONDS)
            return token

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        content: bytes | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """One REST call with a bearer token; a 401 drops the cached token and tries once more. Network
        errors and timeouts are retryable GatewayErrors; PayPal's refusals are PayPalErrors."""
        headers = {"Accept": "application/json", "Prefer": "return=representation"}
        if request_id is not None:
            headers["PayPal-Request-Id"] = request_id
        if body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
        timeout = httpx.Timeout(self.settings.payment_http_timeout_seconds)
        try:
            async with httpx.AsyncClient(base_url=self.api_base, timeout=timeout) as http:
                for attempt in range(2):
                    token = await self._token(http)
                    response = await http.request(
                        method,
                        path,
                        content=content,
                        headers={**headers, "Authorization": f"Bearer {token}"},
                    )
                    if response.status_code == 401 and attempt == 0:
                        _tokens.pop(self._cache_key(), None)
                        continue
                    break
        except httpx.HTTPError as exc:
            raise GatewayError(f"PayPal could not be reached: {type(exc).__name__}", retryable=True) from exc
        if not response.is_success:
            raise error_of(response)
        if not response.content:
            return {}
        try:
            answer = response.json()
        except ValueError as exc:
            raise GatewayError("PayPal answered something unreadable", retryable=True) from exc
        if not isinstance(answer, dict):
            raise GatewayError("PayPal answered something unreadable", retryable=True)
        return answer

    # The gateway interface ----------------------------------------------------------------------------------

    async def start(self, session: AsyncSession, request: StartRequest) -> PaymentResult:
        cancel_url = f"{self.settings.public_url}/orders/{request.order_id}?payment=cancelled"
        # No PayPal-Request-Id here: creating an order moves no money, and a replayed order could be one
        # whose earlier payment already failed.
        order = await self._call(
            "POST",
            "/v2/checkout/orders",
            body={
                "intent": "CAPTURE",
                "purchase_units": [
                    {
                        "reference_id": request.order_number,
                        "custom_id": str(request.order_id),
                        "description": f"Order {request.order_number}",
                        "amount": paypal_amount(request.amount_minor, request.currency),
                    }
                ],
                "payment_source": {
                    "paypal": {
                        "experience_context": {
                            "return_url": request.return_url,
                            "cancel_url": cancel_url,
                            "user_action": "PAY_NOW",
                            "shipping_preference": "NO_SHIPPING",
                        }
                    }
                },
            },
        )
        approve = link_of(order, "payer-action", "approve")
        if not order.get("id") or approve is None:
            raise GatewayError("PayPal created no order to approve")
        return PaymentResult(
            reference=str(order["id"]),
            state=PaymentState.REQUIRES_ACTION,
            amount_minor=request.amount_minor,
            currency=request.currency,
            next_action={"type": "redirect", "url": approve},
            raw={"id": order["id"], "status": order.get("status")},
            details={"paypal_order_id": str(order["id"])},
        )

    async def retrieve(self, session: AsyncSession, reference: str) -> PaymentResult:
        path = f"/v2/checkout/orders/{quote(reference, safe='')}"
        order = await self._call("GET", path)
        if order.get("status") == "APPROVED" and first_capture(order) is None:
            try:
                # Derived from the order: a retried or concurrent capture gets this one's answer back.
                order = await self._call(
                    "POST", f"{path}/capture", body={}, request_id=f"capture-{reference}"
                )
            except PayPalError as exc:
                if exc.issue == "ORDER_ALREADY_CAPTURED":
                    order = await self._call("GET", path)
                elif exc.issue in DECLINE_ISSUES:
                    return self._declined(reference, order, str(exc))
                else:
                    raise
        return self._result(reference, order)

    async def refund(self, session: AsyncSession, request: RefundRequest) -> RefundResult:
        capture_id = await self._capture_id(session, request.payment_reference)
        body: dict[str, Any] = {"amount": paypal_amount(request.amount_minor, request.currency)}
        if request.reason:
            body["note_to_payer"] = request.reason[:255]
        try:
            refund = await self._call(
                "POST",
                f"/v2/payments/captures/{quote(capture_id, safe='')}/refund",
                body=body,
                request_id=request_id("refund", request.idempotency_key),
            )
        except PayPalError as exc:
            if exc.retryable:
                raise
            return RefundResult(
                "", succeeded=False, error=str(exc), raw={"name": exc.name, "issue": exc.issue}
            )
        status = str(refund.get("status", ""))
        raw = {"id": refund.get("id"), "status": status, "capture_id": capture_id}
        if status in ("COMPLETED", "PENDING"):
            return RefundResult(str(refund.get("id", "")), succeeded=True, raw=raw)
        return RefundResult(
            str(refund.get("id", "")), succeeded=False, error=f"PayPal refund {status.lower()}", raw=raw
        )

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        signed = {field: headers.get(header, "") for field, header in WEBHOOK_HEADERS.items()}
        missing = [WEBHOOK_HEADERS[field] for field, value in signed.items() if not value]
        if missing:
            raise InvalidWebhook(f"missing {missing[0]} header")
        if not self.settings.paypal_webhook_id:
            raise InvalidWebhook("no PayPal webhook id is configured")
        try:
            event = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidWebhook("the body is not JSON") from exc
        if not isinstance(event, dict):
            raise InvalidWebhook("the body is not a JSON object")
        await self._verify(signed, body)
        try:
            return await self._event(event)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidWebhook(f"unreadable event: {type(exc).__name__}") from exc

    # Helpers ------------------------------------------------------------------------------------------------

    async def _verify(self, signed: dict[str, str], body: bytes) -> None:
        """Ask PayPal whether the delivery is genuine. The event goes back as the very bytes received
        (checked to be a JSON object above): re-serialising it could change what was signed."""
        fields = {**signed, "webhook_id": self.settings.paypal_webhook_id}
        request = json.dumps(fields, separators=(",", ":")).encode()[:-1] + b',"webhook_event":' + body + b"}"
        try:
            answer = await self._call("POST", "/v1/notifications/verify-webhook-signature", content=request)
        except GatewayError as exc:
            raise InvalidWebhook(f"PayPal could not verify it: {exc}") from exc
        if answer.get("verification_status") != "SUCCESS":
            raise InvalidWebhook("PayPal did not confirm the signature")

    async def _event(self, event: dict[str, Any]) -> GatewayEvent:
        event_id, kind = str(event["id"]), str(event["event_type"])
        resource: dict[str, Any] = event.get("resource") or {}
        reference: str | None = None
        state: PaymentState | None = None
        amount: int | None = None
        refunded: int | None = None
        error: str | None = None
        if kind in (ORDER_APPROVED, ORDER_VOIDED):
            reference = str(resource["id"])
            state = PaymentState.CANCELED if kind == ORDER_VOIDED else None
        elif kind in (CAPTURE_COMPLETED, CAPTURE_PENDING, CAPTURE_DENIED):
            reference = str(resource["supplementary_data"]["related_ids"]["order_id"])
            amount = minor_of(resource["amount"])[0]
            state = {
                CAPTURE_COMPLETED: PaymentState.SUCCEEDED,
                CAPTURE_PENDING: PaymentState.PROCESSING,
                CAPTURE_DENIED: PaymentState.FAILED,
            }[kind]
            error = "PayPal denied the payment." if kind == CAPTURE_DENIED else None
        elif kind == CAPTURE_REFUNDED:
            reference, refunded = await self._refunded(resource)
        return GatewayEvent(
            event_id=event_id,
            event_type=kind,
            payment_reference=reference,
            state=state,
            amount_minor=amount,
            refunded_minor=refunded,
            error=error,
            payload=event,
        )

    async def _refunded(self, refund: dict[str, Any]) -> tuple[str | None, int | None]:
        """A refund names its capture (the ``up`` link), not the order: ask PayPal for the capture's order.
        The running total refunded of the capture is in the refund's breakdown."""
        up = link_of(refund, "up")
        total = (refund.get("seller_payable_breakdown") or {}).get("total_refunded_amount")
        if up is None or total is None:
            log.warning("paypal_refund_unreadable", refund_id=refund.get("id"))
            return None, None
        capture_id = up.rstrip("/").rsplit("/", 1)[-1]
        try:
            capture = await self._call("GET", f"/v2/payments/captures/{quote(capture_id, safe='')}")
        except GatewayError as exc:
            raise InvalidWebhook(f"the refunded capture could not be read: {exc}") from exc
        order_id = str(capture["supplementary_data"]["related_ids"]["order_id"])
        return order_id, minor_of(total)[0]

    async def _capture_id(self, session: AsyncSession, reference: str) -> str:
        """The capture to refund: kept on the payment when the shop captured; otherwise (captured while
        the shop was not looking, learnt from a webhook) read from the order at PayPal."""
        payment = await PaymentRepository(session).payment_by_reference(NAME, reference)
        kept = payment.details.get("capture_id") if payment is not None else None
        if isinstance(kept, str) and kept:
            return kept
        capture = first_capture(await self._call("GET", f"/v2/checkout/orders/{quote(reference, safe='')}"))
        if capture is None or not capture.get("id"):
            raise GatewayError("PayPal holds no capture of this order")
        return str(capture["id"])

    def _result(self, reference: str, order: dict[str, Any]) -> PaymentResult:
        status = str(order.get("status", ""))
        units = order.get("purchase_units") or [{}]
        capture = first_capture(order)
        try:
            amount, currency = minor_of(capture.get("amount") if capture else units[0].get("amount"))
        except (MoneyError, AttributeError) as exc:
            raise GatewayError(f"PayPal answered an unreadable amount: {exc}") from exc
        raw: dict[str, Any] = {"id": order.get("id", reference), "status": status}
        details: dict[str, Any] = {"paypal_order_id": reference}
        error: str | None = None
        next_action: dict[str, Any] | None = None
        if capture is not None:
            capture_status = str(capture.get("status", ""))
            raw["capture"] = {
                "id": capture.get("id"),
                "status": capture_status,
                "amount": capture.get("amount"),
            }
            details["capture_id"] = str(capture.get("id"))
            if capture_status in CAPTURED:
                state = PaymentState.SUCCEEDED
            elif capture_status in CAPTURE_FAILED:
                state = PaymentState.FAILED
                reason = (capture.get("status_details") or {}).get("reason")
                error = "PayPal declined the payment." + (f" ({reason})" if reason else "")
            else:  # PENDING: PayPal is still clearing it; a PAYMENT.CAPTURE.* webhook will tell
                state = PaymentState.PROCESSING
        elif status == "VOIDED":
            state, error = PaymentState.CANCELED, "The PayPal order was voided."
        elif status in AWAITING_BUYER:
            state = PaymentState.REQUIRES_ACTION
            approve = link_of(order, "payer-action", "approve")
            next_action = {"type": "redirect", "url": approve} if approve else None
        else:
            raise GatewayError(f"PayPal answered an order in an unknown state: {status or 'none'}")
        return PaymentResult(
            reference=reference,
            state=state,
            amount_minor=amount,
            currency=currency,
            next_action=next_action,
            error=error,
            raw=raw,
            details=details,
        )

    def _declined(self, reference: str, order: dict[str, Any], message: str) -> PaymentResult:
        units = order.get("purchase_units") or [{}]
        try:
            amount, currency = minor_of(units[0].get("amount"))
        except (MoneyError, AttributeError) as exc:
            raise GatewayError(f"PayPal answered an unreadable amount: {exc}") from exc
        return PaymentResult(
            reference=reference,
            state=PaymentState.FAILED,
            amount_minor=amount,
            currency=currency,
            error=f"PayPal declined the payment: {message}"[:500],
            raw={"id": reference, "status": order.get("status"), "declined": message},
            details={"paypal_order_id": reference},
        )
