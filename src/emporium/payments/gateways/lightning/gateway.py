"""The ``lightning`` gateway: Bitcoin over the Lightning Network, through an LND node's REST API.

``start`` quotes the order total in satoshis (``crypto.quote``) and asks the node for a BOLT11 invoice of
that amount (``POST /v1/invoices``); the payment's reference is the invoice's payment hash in hex. LND
sends no webhooks, so the shop asks (``GET /v1/invoice/{hash}``): the periodic watcher
(``payments/lightning_tasks.py``) and ``/payments/confirm`` do. An invoice counts as paid only when the
node says SETTLED for at least its full amount; OPEN past its expiry or CANCELED is expired.

Every call carries the macaroon in ``Grpc-Metadata-macaroon`` (an invoice macaroon is enough) and, when
``lnd_tls_cert_path`` is set, verifies the node's self-signed certificate against that file. The macaroon
never leaves this module: not in details, errors or logs.

Lightning cannot push money back: a refund needs an invoice from the buyer, paid from the node by a person.
So ``refund`` records what staff did by hand, and ``refunds_by_hand`` tells the automatic refund of a
cancelled order to ask staff instead of pretending (``payments/tasks.py``).
"""

from __future__ import annotations

import base64
import binascii
import re
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import utcnow
from emporium.core.money import decimal_string
from emporium.payments.config import LightningSettings
from emporium.payments.gateways.base import (
    GatewayError,
    GatewayEvent,
    InvalidWebhook,
    PaymentResult,
    RefundRequest,
    RefundResult,
    StartRequest,
)
from emporium.payments.gateways.crypto_quotes import quote
from emporium.payments.models import PaymentState
from emporium.payments.repository import PaymentRepository

NAME = "lightning"
MACAROON_HEADER = "Grpc-Metadata-macaroon"
MSAT_PER_SAT = 1000
PAYMENT_HASH = re.compile(r"^[0-9a-f]{64}$")
# LND's answers are small; anything bigger is not LND.
MAX_RESPONSE_BYTES = 256 * 1024
OPEN, ACCEPTED, SETTLED, CANCELED = "OPEN", "ACCEPTED", "SETTLED", "CANCELED"


class NodeUnavailable(GatewayError):
    """The node as a whole cannot answer (down, failing, or refusing the macaroon): asking about other
    invoices now is pointless."""


def _int64(value: object, field: str) -> int:
    """LND sends int64 fields as JSON strings ("1500"); a missing field is 0, as in proto3."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise GatewayError(f"the Lightning node sent an unreadable {field}")
    try:
        return int(value)
    except ValueError as exc:
        raise GatewayError(f"the Lightning node sent an unreadable {field}") from exc


def _hash_hex(value: object) -> str:
    """A payment hash as LND's REST answers carry it (base64 of 32 bytes), in hex."""
    try:
        raw = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise GatewayError("the Lightning node sent an unreadable payment hash") from exc
    if len(raw) != 32:
        raise GatewayError("the Lightning node sent a payment hash that is not 32 bytes")
    return raw.hex()


def _moment(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC)


def _invoice_outcome(
    state: Any,
    paid_msat: int,
    owed_msat: int,
    expires_at: datetime | None,
    settled: int,
    details: dict[str, Any],
) -> tuple[PaymentState, str | None]:
    """What an invoice's state means for the payment, and the error shown when it failed; notes the
    settlement time, an expiry or an underpayment in ``details``."""
    if state == SETTLED and owed_msat > 0 and paid_msat >= owed_msat:
        if settled:
            details["settled_at"] = _moment(settled).isoformat()
        return PaymentState.SUCCEEDED, None
    if state == CANCELED:
        return PaymentState.CANCELED, "The Lightning invoice was cancelled."
    if state == OPEN and expires_at is not None and utcnow() >= expires_at:
        details["invoice_state"] = "EXPIRED"
        return PaymentState.FAILED, "The Lightning invoice expired unpaid."
    if state == OPEN:
        return PaymentState.REQUIRES_ACTION, None
    if state in (ACCEPTED, SETTLED):
        # Held by the node (a hold invoice), or settled for less than owed: not paid, and not over.
        if state == SETTLED:
            details["underpaid_sats"] = (owed_msat - paid_msat) // MSAT_PER_SAT
        return PaymentState.PROCESSING, None
    raise GatewayError(f"the Lightning node reported an unknown invoice state {state!r}")


class LightningGateway:
    name = NAME
    online = True
    title = "Bitcoin over Lightning"
    # The automatic refund of a cancelled order asks staff to return the money (see the module docstring).
    refunds_by_hand = True
    reconcile_events: frozenset[str] = frozenset()

    def __init__(self, settings: LightningSettings) -> None:
        self.settings = settings

    # LND REST ---------------------------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        url, macaroon = self.settings.lnd_rest_url, self.settings.lnd_macaroon_hex
        if not url or macaroon is None or not macaroon.get_secret_value():
            raise GatewayError("Lightning is not configured (EMPORIUM_LND_REST_URL and the macaroon)")
        verify: ssl.SSLContext | bool = True
        if self.settings.lnd_tls_cert_path:
            try:
                verify = ssl.create_default_context(cafile=self.settings.lnd_tls_cert_path)
            except (OSError, ssl.SSLError) as exc:
                raise GatewayError(f"the Lightning node's TLS certificate cannot be read: {exc}") from exc
        return httpx.AsyncClient(
            base_url=url.rstrip("/"),
            headers={MACAROON_HEADER: macaroon.get_secret_value(), "Accept": "application/json"},
            verify=verify,
            timeout=self.settings.payment_http_timeout_seconds,
            follow_redirects=False,
        )

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            async with self._client() as client:
                response = await client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            # The exception's text names the URL at most, never the headers.
            raise NodeUnavailable(
                f"the Lightning node could not be reached ({type(exc).__name__})", retryable=True
            ) from exc
        try:
            answer = response.json() if len(response.content) <= MAX_RESPONSE_BYTES else None
        except ValueError:
            answer = None
        if response.status_code != 200:
            # LND (grpc-gateway) errors: {"code": 2, "message": "...", "details": []}.
            message = answer.get("message") if isinstance(answer, dict) else None
            if response.status_code in (401, 403):
                raise NodeUnavailable(f"the Lightning node refused the macaroon: {message or 'unauthorized'}")
            failure = NodeUnavailable if response.status_code >= 500 else GatewayError
            raise failure(
                f"the Lightning node answered {response.status_code}: {message or 'no error message'}",
                retryable=response.status_code >= 500,
            )
        if not isinstance(answer, dict):
            raise GatewayError("the Lightning node's answer is not a JSON object")
        return answer

    # The gateway interface --------------------------------------------------------------------------------

    async def start(self, session: AsyncSession, request: StartRequest) -> PaymentResult:
        fixed = await quote(self.settings, request.amount_minor, request.currency, "BTC")
        expiry = self.settings.lnd_invoice_expiry_seconds
        # Taken before the call: the node's own clock starts the invoice no earlier, so this never promises
        # the shopper more time than the node gives.
        created = utcnow()
        answer = await self._call(
            "POST",
            "/v1/invoices",
            {
                "value": str(fixed.amount_units),
                "memo": f"{self.settings.shop_name} order {request.order_number}",
                "expiry": str(expiry),
            },
        )
        payment_request = answer.get("payment_request")
        if not isinstance(payment_request, str) or not payment_request.lower().startswith("ln"):
            raise GatewayError("the Lightning node sent no payment request")
        reference = _hash_hex(answer.get("r_hash"))
        expires_at = created + timedelta(seconds=expiry)
        uri = f"lightning:{payment_request}"
        details = {
            "payment_request": payment_request,
            "lightning_uri": uri,
            "payment_hash": reference,
            "amount_sats": fixed.amount_units,
            "amount_btc": fixed.amount,
            "rate": decimal_string(fixed.rate),
            "rate_source": fixed.rate_source,
            "quoted_at": fixed.quoted_at.isoformat(),
            "invoice_expires_at": expires_at.isoformat(),
            "invoice_state": OPEN,
        }
        return PaymentResult(
            reference=reference,
            state=PaymentState.REQUIRES_ACTION,
            amount_minor=request.amount_minor,
            currency=request.currency,
            next_action={"type": "lightning_invoice", "payment_request": payment_request, "uri": uri},
            raw={"r_hash": reference, "add_index": str(answer.get("add_index", ""))},
            details=details,
            expires_at=expires_at,
        )

    async def retrieve(self, session: AsyncSession, reference: str) -> PaymentResult:
        if not PAYMENT_HASH.match(reference):
            raise GatewayError("not a Lightning payment hash")
        # The invoice knows satoshis only; the order's amount and the quoted satoshis are on the payment.
        payment = await PaymentRepository(session).payment_by_reference(NAME, reference)
        if payment is None:
            raise GatewayError("no Lightning payment with this payment hash")
        invoice = await self._call("GET", f"/v1/invoice/{reference}")
        if _hash_hex(invoice.get("r_hash")) != reference:
            raise GatewayError("the Lightning node answered about another invoice")
        state = invoice.get("state")
        value_msat = _int64(invoice.get("value_msat"), "value_msat")
        paid_msat = _int64(invoice.get("amt_paid_msat"), "amt_paid_msat")
        created = _int64(invoice.get("creation_date"), "creation_date")
        expiry = _int64(invoice.get("expiry"), "expiry")
        settled = _int64(invoice.get("settle_date"), "settle_date")
        quoted_msat = int(payment.details.get("amount_sats", 0)) * MSAT_PER_SAT
        # The full amount is what the invoice asks and never less than what the shop quoted.
        owed_msat = max(value_msat, quoted_msat)
        expires_at = _moment(created + expiry) if created and expiry else None
        details: dict[str, Any] = {"invoice_state": state, "amount_paid_sats": paid_msat // MSAT_PER_SAT}
        result_state, error = _invoice_outcome(state, paid_msat, owed_msat, expires_at, settled, details)
        next_action = (
            payment.details.get("next_action") if result_state == PaymentState.REQUIRES_ACTION else None
        )
        return PaymentResult(
            reference=reference,
            state=result_state,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            next_action=next_action,
            error=error,
            raw={
                "state": state,
                "value_msat": str(value_msat),
                "amt_paid_msat": str(paid_msat),
                "settle_date": str(settled),
                "settle_index": str(invoice.get("settle_index", "")),
            },
            details=details,
            expires_at=expires_at,
        )

    async def refund(self, session: AsyncSession, request: RefundRequest) -> RefundResult:
        """Staff returned the money by hand (paid an invoice the buyer gave them): record that, under the
        key they sent, with their reason. Nothing is sent to the node; the automatic refund never gets
        here (``refunds_by_hand``)."""
        return RefundResult(
            reference=f"by-hand:{request.idempotency_key}"[:200],
            succeeded=True,
            raw={"returned_by_hand": True, "reason": request.reason},
        )

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        raise InvalidWebhook("LND sends no webhooks; Lightning invoices are watched")
