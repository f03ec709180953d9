"""The ``bitcoin`` and ``litecoin`` gateways: on-chain payments through a Bitcoin Core (or Litecoin Core)
node's wallet, over its JSON-RPC interface with basic auth.

``start`` quotes the order total in the coin for ``crypto_quote_minutes`` (``crypto.quote``) and asks the
wallet for a new address labelled with the order number; the shopper is shown the address, the amount, a
BIP21 URI and the confirmations the shop waits for. Nothing tells the shop that coins arrived: it asks
(``retrieve``, run by the watcher job in ``payments/crypto_tasks.py`` and by ``/payments/confirm``), with
``getreceivedbyaddress`` at the required confirmations and at zero (coins seen, not yet confirmed).

What the node says is judged against the quote (see ``assess``): enough confirmed coins pay the order
(more is recorded as an overpayment); too little stays open until the quote expires and then fails as
underpaid; coins that arrive after the quote expired are accepted only when they cover it.

Coins cannot be sent back without the buyer's address, so ``refund`` never pretends: staff send the coins
from the wallet themselves and record the transaction id (``POST /api/v1/payments/crypto/refunds``), which
is checked against the wallet before the ledger records it. Any other refund is refused (a ``GatewayError``);
``refunds_by_hand`` makes the automatic refund job ask staff (an order event) instead of trying.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote as url_quote

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import utcnow
from emporium.core.money import MoneyError
from emporium.payments.config import ChainSettings
from emporium.payments.gateways.base import (
    GatewayError,
    GatewayEvent,
    InvalidWebhook,
    PaymentResult,
    RefundRequest,
    RefundResult,
    StartRequest,
)
from emporium.payments.gateways.crypto_quotes import decimal_to_units, quote, units_to_decimal
from emporium.payments.models import Payment, PaymentState
from emporium.payments.repository import PaymentRepository

BITCOIN = "bitcoin"
LITECOIN = "litecoin"
CHAIN_GATEWAYS = frozenset({BITCOIN, LITECOIN})
# A staff refund names the on-chain transaction that sent the coins back in its idempotency key.
MANUAL_REFUND_PREFIX = "crypto-sent:"
TXID = re.compile(r"^[0-9a-f]{64}$")
ADDRESS = re.compile(r"^[0-9A-Za-z]{14,100}$")
RPC_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 1024 * 1024
# Coins seen in full before the quote expired are waited for this long for their confirmations.
UNCONFIRMED_GRACE = timedelta(hours=24)
# RPC error codes of Bitcoin Core that mean "try again later" (warming up, still loading the wallet).
RETRYABLE_RPC_CODES = frozenset({-28, -18})

_ids = itertools.count(1)


class NodeError(GatewayError):
    """The node answered the call with a JSON-RPC error."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"node error {code}: {message}", retryable=code in RETRYABLE_RPC_CODES)
        self.code = code


class NodeRpc:
    """A JSON-RPC client of a Bitcoin Core style node. Amounts are read as ``Decimal``, never floats."""

    def __init__(self, url: str, user: str | None, password: str | None) -> None:
        self.url = url
        self.auth = httpx.BasicAuth(user or "", password or "") if user or password else None

    async def call(self, method: str, *params: str | int | bool) -> Any:
        body = {"jsonrpc": "1.0", "id": f"emporium-{next(_ids)}", "method": method, "params": list(params)}
        try:
            async with httpx.AsyncClient(timeout=RPC_TIMEOUT_SECONDS, follow_redirects=False) as client:
                response = await client.post(self.url, json=body, auth=self.auth or httpx.USE_CLIENT_DEFAULT)
        except httpx.HTTPError as exc:
            raise GatewayError(f"the node is unreachable ({type(exc).__name__})", retryable=True) from exc
        if response.status_code in (401, 403):
            raise GatewayError("the node refused the RPC credentials")
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise GatewayError("the node's answer is too large")
        try:
            answer = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise GatewayError(
                f"the node answered {response.status_code} without JSON",
                retryable=response.status_code >= 500,
            ) from exc
        if not isinstance(answer, dict):
            raise GatewayError("the node's answer is not a JSON-RPC response")
        error = answer.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            raise NodeError(code if isinstance(code, int) else 0, str(error.get("message", ""))[:200])
        if response.status_code != 200 or "result" not in answer:
            raise GatewayError(f"the node answered {response.status_code}", retryable=True)
        return answer["result"]

    async def received(self, address: str, minconf: int) -> int:
        """Satoshis (litoshis) the wallet received on ``address`` with ``minconf`` confirmations or more."""
        value = await self.call("getreceivedbyaddress", address, minconf)
        return _units(value)


def _units(value: object) -> int:
    """An amount of the node (BTC and LTC both have 8 places) in the smallest unit."""
    if not isinstance(value, Decimal | int) or isinstance(value, bool):
        raise GatewayError("the node sent an amount that is not a number")
    try:
        return decimal_to_units(value, "BTC")
    except MoneyError as exc:
        raise GatewayError(f"the node sent an unusable amount: {exc}") from exc


@dataclass(frozen=True)
class Coin:
    name: str
    title: str
    currency: str
    uri_scheme: str
    rpc_url: str | None
    rpc_user: str | None
    rpc_password: str | None
    confirmations: int


def coin_of(settings: ChainSettings, name: str) -> Coin:
    if name == LITECOIN:
        password = settings.litecoin_rpc_password
        return Coin(
            LITECOIN,
            "Litecoin",
            "LTC",
            "litecoin",
            settings.litecoin_rpc_url,
            settings.litecoin_rpc_user,
            password.get_secret_value() if password else None,
            settings.litecoin_confirmations,
        )
    password = settings.bitcoin_rpc_password
    return Coin(
        BITCOIN,
        "Bitcoin",
        "BTC",
        "bitcoin",
        settings.bitcoin_rpc_url,
        settings.bitcoin_rpc_user,
        password.get_secret_value() if password else None,
        settings.bitcoin_confirmations,
    )


@dataclass(frozen=True)
class Seen:
    """What the node says an address received: at the required confirmations, and at zero."""

    confirmed_units: int
    seen_units: int


Assessment = tuple[PaymentState, str | None, dict[str, Any]]


def _figures(due: int, confirmed: int, received: int, now: datetime, currency: str) -> dict[str, Any]:
    """The amounts shown on the payment: received, confirmed, short and over, in coins and in units."""
    return {
        "received": units_to_decimal(received, currency),
        "received_units": received,
        "confirmed": units_to_decimal(confirmed, currency),
        "confirmed_units": confirmed,
        "shortfall": units_to_decimal(max(due - received, 0), currency),
        "shortfall_units": max(due - received, 0),
        "overpaid": units_to_decimal(max(confirmed - due, 0), currency),
        "overpaid_units": max(confirmed - due, 0),
        "checked_at": now.isoformat(),
    }


def _still_waiting(payment: Payment, received: int, due: int, now: datetime) -> bool:
    """Whether the quote still holds: not expired, or sent in full in time and waiting for confirmations."""
    expires_at = payment.expires_at
    if expires_at is None or now < expires_at:
        return True
    # Sent in full before the quote expired: the confirmations may come after it.
    sent_in_time = payment.state == PaymentState.PROCESSING and received >= due
    return sent_in_time and now < expires_at + UNCONFIRMED_GRACE


def _paid_elsewhere(received: int) -> tuple[PaymentState, str, str]:
    if received:
        return (
            PaymentState.FAILED,
            "paid_elsewhere",
            "Coins arrived after the order was paid another way: staff will return them.",
        )
    return PaymentState.CANCELED, "paid_elsewhere", "The order was paid another way."


def _expired(received: int, due: int, currency: str) -> tuple[PaymentState, str, str]:
    """How a quote that ran out ends, by what arrived before it did."""
    if received >= due:
        return (
            PaymentState.FAILED,
            "late",
            "The coins arrived after the quote expired; they are accepted once confirmed if the order "
            "can still be paid.",
        )
    if received:
        return (
            PaymentState.FAILED,
            "underpaid",
            f"Underpaid: {units_to_decimal(received, currency)} of {units_to_decimal(due, currency)} "
            f"{currency} arrived before the quote expired.",
        )
    return PaymentState.CANCELED, "expired", "The quote expired before any coins arrived."


def assess(
    payment: Payment, seen: Seen, *, now: datetime, paid_by_another: bool, currency: str
) -> Assessment:
    """The state, error and shown details of a payment given what its address received."""
    due = int(payment.details["amount_units"])
    confirmed, received = seen.confirmed_units, max(seen.seen_units, seen.confirmed_units)
    current = PaymentState(payment.state)
    closed = current in (PaymentState.FAILED, PaymentState.CANCELED)
    details = _figures(due, confirmed, received, now, currency)

    def close(ending: tuple[PaymentState, str, str]) -> Assessment:
        state, status, error = ending
        # A payment that is already closed stays as it was closed; only its figures move.
        if closed:
            return current, payment.error, {**details, "status": status}
        return state, error, {**details, "status": status}

    if current is PaymentState.SUCCEEDED:
        return current, None, {**details, "status": payment.details.get("status", "confirmed")}
    if paid_by_another:
        return close(_paid_elsewhere(received))
    if confirmed >= due:
        status = "overpaid" if confirmed > due else "confirmed"
        return PaymentState.SUCCEEDED, None, {**details, "status": status, "late": closed}
    if _still_waiting(payment, received, due, now) and not closed:
        if received >= due:
            return PaymentState.PROCESSING, None, {**details, "status": "seen"}
        status = "underpaid" if received else "waiting"
        return PaymentState.REQUIRES_ACTION, None, {**details, "status": status}
    return close(_expired(received, due, currency))


class ChainGateway:
    """One class for both coins; ``coin`` says which node, currency and confirmations."""

    online = True
    # Coins go back only to an address the buyer gives: the automatic refund job asks staff instead.
    refunds_by_hand = True
    reconcile_events: frozenset[str] = frozenset()

    def __init__(self, settings: ChainSettings, name: str = BITCOIN) -> None:
        self.settings = settings
        self.coin = coin_of(settings, name)
        self.name = self.coin.name
        self.title = self.coin.title

    def rpc(self) -> NodeRpc:
        if not self.coin.rpc_url:
            raise GatewayError(f"{self.title} payments are not configured")
        return NodeRpc(self.coin.rpc_url, self.coin.rpc_user, self.coin.rpc_password)

    def required_confirmations(self, amount_minor: int) -> int:
        if amount_minor >= self.settings.bitcoin_large_amount_minor:
            # Large orders wait longer before a double spend is out of reach.
            return max(self.coin.confirmations, self.settings.bitcoin_large_confirmations)
        return self.coin.confirmations

    async def start(self, session: AsyncSession, request: StartRequest) -> PaymentResult:
        rpc = self.rpc()
        # The quote first: when no fresh rate can be had, no address is used up.
        fixed = await quote(self.settings, request.amount_minor, request.currency, self.coin.currency)
        address = await rpc.call("getnewaddress", request.order_number)
        if not isinstance(address, str) or not ADDRESS.match(address):
            raise GatewayError("the node did not hand out an address")
        confirmations = self.required_confirmations(request.amount_minor)
        uri = (
            f"{self.coin.uri_scheme}:{address}?amount={fixed.amount}"
            f"&label={url_quote(request.order_number, safe='')}"
        )
        details = {
            **fixed.details(),
            "address": address,
            "payment_uri": uri,
            "required_confirmations": confirmations,
            "status": "waiting",
            "received": units_to_decimal(0, fixed.crypto),
            "received_units": 0,
        }
        return PaymentResult(
            reference=address,
            state=PaymentState.REQUIRES_ACTION,
            amount_minor=request.amount_minor,
            currency=request.currency,
            next_action={
                "type": "crypto_transfer",
                "address": address,
                "amount": fixed.amount,
                "currency": fixed.crypto,
                "uri": uri,
                "expires_at": fixed.expires_at.isoformat(),
            },
            details=details,
            expires_at=fixed.expires_at,
            raw={"address": address, "label": request.order_number},
        )

    async def retrieve(self, session: AsyncSession, reference: str) -> PaymentResult:
        repo = PaymentRepository(session)
        payment = await repo.payment_by_reference(self.name, reference)
        if payment is None or "amount_units" not in payment.details:
            raise GatewayError(f"no {self.title} payment to address {reference}")
        rpc = self.rpc()
        required = int(payment.details.get("required_confirmations", self.coin.confirmations))
        confirmed = await rpc.received(reference, required)
        received = confirmed if required == 0 else await rpc.received(reference, 0)
        paid_by_another = await repo.other_payment_succeeded(payment)
        state, error, details = assess(
            payment,
            Seen(confirmed, received),
            now=utcnow(),
            paid_by_another=paid_by_another,
            currency=self.coin.currency,
        )
        return PaymentResult(
            reference=reference,
            state=state,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            error=error,
            details=details,
            raw={"address": reference, "confirmed_units": confirmed, "received_units": received},
        )

    async def refund(self, session: AsyncSession, request: RefundRequest) -> RefundResult:
        _order, _, key = request.idempotency_key.partition(":")
        if not key.startswith(MANUAL_REFUND_PREFIX):
            raise GatewayError(
                f"{self.title} cannot be sent back automatically (the buyer's address is unknown): send the "
                "coins from the shop's wallet and record the transaction id as a crypto refund."
            )
        txid = key.removeprefix(MANUAL_REFUND_PREFIX)
        if not TXID.match(txid):
            raise GatewayError("not a transaction id")
        try:
            sent = await self.rpc().call("gettransaction", txid)
        except NodeError as exc:
            raise GatewayError(f"the node does not know this transaction: {exc}") from exc
        if not isinstance(sent, dict) or not any(
            isinstance(d, dict) and d.get("category") == "send" for d in sent.get("details", [])
        ):
            raise GatewayError("this transaction did not send coins from the shop's wallet")
        amount = sent.get("amount", Decimal(0))
        fee = sent.get("fee", Decimal(0))
        return RefundResult(
            reference=txid,
            succeeded=True,
            raw={
                "txid": txid,
                "sent": units_to_decimal(abs(_units(amount)), self.coin.currency),
                "fee": units_to_decimal(abs(_units(fee)), self.coin.currency),
                "confirmations": int(sent.get("confirmations", 0)),
            },
        )

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        # A node sends no webhooks; seed 001's signed notices arrive at /webhooks/payment instead.
        raise InvalidWebhook(f"{self.title} sends no webhooks here")


def bitcoin(settings: ChainSettings) -> ChainGateway:
    return ChainGateway(settings, BITCOIN)


def litecoin(settings: ChainSettings) -> ChainGateway:
    return ChainGateway(settings, LITECOIN)
