"""A small Stripe API server on loopback that speaks Stripe's wire format, for the Stripe gateway's tests.

Form-encoded requests (``metadata[order_id]=...``, ``expand[0]=...``) with ``Authorization: Bearer``; JSON
objects with ``"object": "payment_intent"`` and Stripe's error bodies; the ``Idempotency-Key`` header
honoured as Stripe does (the same key and parameters replay the first answer with
``Idempotent-Replayed: true``, other parameters are a 400 ``idempotency_error``, a key still in flight a
409). The browser's side (stripe.js confirming with the publishable key and the client secret) goes
through the same HTTP API; the card issuer's 3-D Secure page and the Stripe dashboard are methods.

Stripe's test payment methods: ``pm_card_visa`` and ``pm_card_mastercard`` succeed,
``pm_card_chargeDeclined`` and ``pm_card_chargeDeclinedInsufficientFunds`` are declined,
``pm_card_authenticationRequired`` asks for 3-D Secure first.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from emporium.core.context import AppContext
from tests.conftest import MakeContext

SECRET_KEY = "sk_test_emporium_fake_0123456789abcdef"
PUBLISHABLE_KEY = "pk_test_emporium_fake_0123456789abcdef"
WEBHOOK_SECRET = "whsec_emporium_fake_0123456789abcdef"
API_VERSION = "2026-10-28.endive"

CARDS: dict[str, dict[str, Any]] = {
    "pm_card_visa": {"brand": "visa", "last4": "4242"},
    "pm_card_mastercard": {"brand": "mastercard", "last4": "4444"},
    "pm_card_chargeDeclined": {
        "brand": "visa",
        "last4": "0002",
        "decline": ("generic_decline", "Your card was declined."),
    },
    "pm_card_chargeDeclinedInsufficientFunds": {
        "brand": "visa",
        "last4": "9995",
        "decline": ("insufficient_funds", "Your card has insufficient funds."),
    },
    "pm_card_authenticationRequired": {"brand": "visa", "last4": "3184", "three_d_secure": True},
}
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
_PARAMS = {
    "create_intent": {
        "amount",
        "currency",
        "allowed_payment_method_types",
        "automatic_payment_methods",
        "description",
        "metadata",
        "receipt_email",
        "capture_method",
        "statement_descriptor",
        "expand",
    },
    "confirm": {"payment_method", "client_secret", "return_url", "expand"},
    "refund": {"payment_intent", "charge", "amount", "reason", "metadata", "expand"},
    "retrieve": {"expand", "client_secret"},
}


class StripeFailure(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error


def _invalid(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> StripeFailure:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if param:
        error["param"] = param
    if code:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    return StripeFailure(status, error)


def _idempotency_error(key: str, *, in_flight: bool) -> dict[str, Any]:
    if in_flight:
        return {
            "error": {
                "type": "idempotency_error",
                "code": "idempotency_key_in_use",
                "message": "There is currently another in-progress request using this Idempotent Key (that "
                "probably means you submitted twice, and the other request is still going through): "
                f"{key}. Please try again later.",
            }
        }
    return {
        "error": {
            "type": "idempotency_error",
            "message": "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{key}' if you meant to execute a different "
            "request.",
        }
    }


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding: ``a[b]=1`` is a hash, ``a[0]=x`` a list."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        if not parts:
            continue
        node: Any = result
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if isinstance(node, list):
                position = int(part)
                while len(node) <= position:
                    node.append(None)
                if last:
                    node[position] = value
                else:
                    if node[position] is None:
                        node[position] = [] if parts[index + 1].isdigit() else {}
                    node = node[position]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if parts[index + 1].isdigit() else {})
    return result


def _integer(params: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = params.get(name)
    if value is None:
        if required:
            raise _invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
        return None
    if not isinstance(value, str) or not value.isdigit():
        raise _invalid(f"Invalid integer: {value}", param=name, code="parameter_invalid_integer")
    return int(value)


def _known(params: dict[str, Any], allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise _invalid(f"Received unknown parameter: {name}", param=name, code="parameter_unknown")


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass
class Stall:
    method: str
    path: str
    seconds: float
    times: int


@dataclass
class Saved:
    fingerprint: str
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    done: bool = False


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    key: str


class FakeStripe:
    """Stripe's side: intents, charges, refunds and events, in memory, behind a real HTTP server."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.requests: list[Seen] = []
        self.refund_status = "succeeded"
        self._saved: dict[str, Saved] = {}
        self._stalls: list[Stall] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # Test controls -------------------------------------------------------------------------------------

    def stall(self, method: str, path: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls to ``path`` are carried out, then answered ``seconds`` late."""
        with self.lock:
            self._stalls.append(Stall(method, path, seconds, times))

    def succeeded_charges(self) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.charges.values() if c["status"] == "succeeded"]

    def calls(self, method: str, path: str) -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def events_of(self, kind: str, about: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                e
                for e in self.events
                if e["type"] == kind
                and (
                    about is None
                    or about in (e["data"]["object"]["id"], e["data"]["object"].get("payment_intent"))
                )
            ]

    def complete_3ds(self, intent_id: str, *, approve: bool) -> None:
        """The shopper passes (or fails) the card issuer's 3-D Secure page."""
        with self.lock:
            intent = self.intents[intent_id]
            assert intent["status"] == "requires_action", intent["status"]
            card = CARDS[intent["payment_method"]]
            if approve:
                self._charge(intent, card)
            else:
                intent.update(
                    status="requires_payment_method",
                    next_action=None,
                    last_payment_error={
                        "type": "invalid_request_error",
                        "code": "payment_intent_authentication_failure",
                        "message": "The provided PaymentMethod has failed authentication. You can provide "
                        "payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent "
                        "again.",
                    },
                )
                self._emit("payment_intent.payment_failed", intent)

    def dashboard_refund(self, intent_id: str, amount: int) -> dict[str, Any]:
        """A refund made by hand in Stripe's dashboard."""
        with self.lock:
            return self._refund({"payment_intent": intent_id, "amount": str(amount)}, None)

    def signed(
        self, event: dict[str, Any], secret: str = WEBHOOK_SECRET, *, at: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A delivery as Stripe sends it: the event pretty-printed, ``Stripe-Signature: t=...,v1=...``."""
        body = json.dumps(event, indent=2).encode()
        return body, {"Stripe-Signature": signature(body, secret, at), "Content-Type": "application/json"}

    # The API -----------------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        key = headers.get("idempotency-key")
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        with self.lock:
            self.requests.append(Seen(method, path, params, key, token))
        if token not in (SECRET_KEY, PUBLISHABLE_KEY):
            shown = f"{token[:8]}{'*' * 8}{token[-4:]}" if token else ""
            return (
                401,
                {"error": {"type": "invalid_request_error", "message": f"Invalid API Key provided: {shown}"}},
                {},
            )
        if method != "POST" or key is None:
            return self._run(method, path, params, token)
        fingerprint = hashlib.sha256(json.dumps([method, path, params], sort_keys=True).encode()).hexdigest()
        with self.lock:
            saved = self._saved.get(key)
            if saved is None:
                self._saved[key] = Saved(fingerprint)
            elif not saved.done:
                return 409, _idempotency_error(key, in_flight=True), {}
            elif saved.fingerprint != fingerprint:
                return 400, _idempotency_error(key, in_flight=False), {}
            else:
                return saved.status, copy.deepcopy(saved.body), {"Idempotent-Replayed": "true"}
        status, body, extra = self._run(method, path, params, token, key)
        with self.lock:
            # Like Stripe: an answer is kept once the call really ran (a charge, even declined); a call
            # refused by validation keeps nothing and the key may be used again.
            if status in (200, 402):
                self._saved[key] = Saved(fingerprint, status, copy.deepcopy(body), True)
            else:
                del self._saved[key]
        return status, body, extra

    def stall_for(self, method: str, path: str) -> float:
        with self.lock:
            for stall in self._stalls:
                if stall.method == method and stall.path == path and stall.times > 0:
                    stall.times -= 1
                    return stall.seconds
        return 0.0

    def _run(
        self, method: str, path: str, params: dict[str, Any], token: str, key: str | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        try:
            with self.lock:
                return 200, self._route(method, path, params, token, key), {}
        except StripeFailure as failure:
            return failure.status, {"error": failure.error}, {}

    def _route(
        self, method: str, path: str, params: dict[str, Any], token: str, key: str | None
    ) -> dict[str, Any]:
        secret_key = token == SECRET_KEY
        if method == "POST" and path == "/v1/payment_intents" and secret_key:
            return self._create(params, key)
        found = re.fullmatch(r"/v1/payment_intents/([^/]+)(/confirm)?", path)
        if found:
            intent = self.intents.get(found.group(1))
            if intent is None:
                raise _invalid(
                    f"No such payment_intent: '{found.group(1)}'",
                    param="intent",
                    code="resource_missing",
                    status=404,
                )
            if not secret_key and params.get("client_secret") != intent["client_secret"]:
                raise _invalid(
                    "The client_secret provided does not match the client_secret associated with the "
                    "PaymentIntent.",
                    param="client_secret",
                )
            if method == "GET" and not found.group(2):
                _known(params, _PARAMS["retrieve"])
                return self._shown(intent, params)
            if method == "POST" and found.group(2):
                return self._confirm(intent, params)
        if method == "POST" and path == "/v1/refunds" and secret_key:
            return self._refund(params, key)
        if not secret_key:
            raise _invalid(
                "This API call cannot be made with a publishable API key. Please use a secret API key.",
                status=401,
            )
        raise _invalid(f"Unrecognized request URL ({method}: {path}).", status=404)

    def _shown(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        shown = copy.deepcopy(intent)
        if "latest_charge" in (params.get("expand") or []) and intent["latest_charge"]:
            shown["latest_charge"] = copy.deepcopy(self.charges[intent["latest_charge"]])
        return shown

    def _create(self, params: dict[str, Any], key: str | None) -> dict[str, Any]:
        _known(params, _PARAMS["create_intent"])
        amount = _integer(params, "amount")
        assert amount is not None
        if amount < 50:
            raise _invalid("Amount must be at least $0.50 usd", param="amount", code="amount_too_small")
        currency = params.get("currency")
        if not isinstance(currency, str) or not re.fullmatch(r"[a-z]{3}", currency):
            raise _invalid(
                f"Invalid currency: {currency}.", param="currency", code="parameter_invalid_string"
            )
        intent_id = _id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": params.get("capture_method", "automatic_async"),
            "client_secret": f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency,
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "next_action": None,
            "payment_method": None,
            "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
            "allowed_payment_method_types": params.get("allowed_payment_method_types"),
            "payment_method_types": params.get("allowed_payment_method_types") or ["card"],
            "status": "requires_payment_method",
        }
        self.intents[intent_id] = intent
        self._emit("payment_intent.created", intent, key)
        return copy.deepcopy(intent)

    def _confirm(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        _known(params, _PARAMS["confirm"])
        if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
            raise _invalid(
                f"You cannot confirm this PaymentIntent because it has a status of {intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        method = params.get("payment_method")
        card = CARDS.get(str(method))
        if card is None:
            raise _invalid(
                f"No such PaymentMethod: '{method}'", param="payment_method", code="resource_missing"
            )
        intent["payment_method"] = method
        if card.get("three_d_secure"):
            intent.update(
                status="requires_action",
                last_payment_error=None,
                next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}},
            )
            self._emit("payment_intent.requires_action", intent)
            return copy.deepcopy(intent)
        self._charge(intent, card)
        if intent["status"] != "succeeded":
            raise StripeFailure(
                402, {**copy.deepcopy(intent["last_payment_error"]), "payment_intent": copy.deepcopy(intent)}
            )
        return copy.deepcopy(intent)

    def _charge(self, intent: dict[str, Any], card: dict[str, Any]) -> None:
        decline = card.get("decline")
        charge_id = _id("ch")
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": 0 if decline else intent["amount"],
            "amount_refunded": 0,
            "captured": not decline,
            "created": int(time.time()),
            "currency": intent["currency"],
            "failure_code": "card_declined" if decline else None,
            "failure_message": decline[1] if decline else None,
            "livemode": False,
            "paid": not decline,
            "payment_intent": intent["id"],
            "payment_method": intent["payment_method"],
            "payment_method_details": {
                "type": "card",
                "card": {
                    "brand": card["brand"],
                    "last4": card["last4"],
                    "exp_month": 12,
                    "exp_year": 2034,
                    "funding": "credit",
                    "country": "US",
                },
            },
            "refunded": False,
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/charges/{charge_id}/refunds",
            },
            "status": "failed" if decline else "succeeded",
        }
        self.charges[charge_id] = charge
        intent["latest_charge"] = charge_id
        intent["next_action"] = None
        if decline:
            intent.update(
                status="requires_payment_method",
                last_payment_error={
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": decline[0],
                    "message": decline[1],
                    "charge": charge_id,
                    "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                },
            )
            self._emit("charge.failed", charge)
            self._emit("payment_intent.payment_failed", intent)
            return
        intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
        self._emit("charge.succeeded", charge)
        self._emit("payment_intent.succeeded", intent)

    def _refund(self, params: dict[str, Any], key: str | None) -> dict[str, Any]:
        _known(params, _PARAMS["refund"])
        intent_id = params.get("payment_intent")
        if not intent_id:
            raise _invalid("Must provide either charge or payment_intent.", code="parameter_missing")
        intent = self.intents.get(str(intent_id))
        if intent is None:
            raise _invalid(
                f"No such payment_intent: '{intent_id}'",
                param="payment_intent",
                code="resource_missing",
                status=404,
            )
        charge = self.charges.get(intent["latest_charge"] or "")
        if charge is None or charge["status"] != "succeeded":
            raise _invalid(
                "This PaymentIntent does not have a successful charge to refund.", param="payment_intent"
            )
        reason = params.get("reason")
        if reason is not None and reason not in REFUND_REASONS:
            raise _invalid(
                "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
                param="reason",
            )
        left = charge["amount_captured"] - charge["amount_refunded"]
        if left <= 0:
            raise _invalid(
                f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        amount = _integer(params, "amount", required=False)
        amount = left if amount is None else amount
        if amount > left:
            raise _invalid(
                f"Refund amount (${amount / 100:.2f}) is greater than unrefunded amount on charge "
                f"(${left / 100:.2f})",
                param="amount",
                code="amount_too_large",
            )
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": params.get("metadata") or {},
            "payment_intent": intent["id"],
            "reason": reason,
            "status": self.refund_status,
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
        charge["refunds"]["data"].insert(0, refund)
        charge["refunds"]["total_count"] += 1
        self._emit("refund.created", refund, key)
        self._emit("charge.refunded", charge, key)
        return copy.deepcopy(refund)

    def _emit(self, kind: str, obj: dict[str, Any], key: str | None = None) -> None:
        self.events.append(
            {
                "id": _id("evt"),
                "object": "event",
                "api_version": API_VERSION,
                "created": int(time.time()),
                "data": {"object": copy.deepcopy(obj)},
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": _id("req"), "idempotency_key": key},
                "type": kind,
            }
        )


def signature(body: bytes, secret: str, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    # Test-mode deliveries also carry a v0 signature, which receivers ignore.
    return f"t={timestamp},v1={digest},v0={secrets.token_hex(32)}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the tests read the fake's state, not its log

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        fake: FakeStripe = self.server.fake  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        params = decode_form(split.query if method == "GET" else body)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, extra = fake.handle(method, split.path, params, headers)
        delay = fake.stall_for(method, split.path)
        if delay:
            time.sleep(delay)  # the work is done; only the answer is late
        encoded = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.send_header("Request-Id", _id("req"))
            self.send_header("Stripe-Version", headers.get("stripe-version", API_VERSION))
            if headers.get("idempotency-key"):
                self.send_header("Idempotency-Key", headers["idempotency-key"])
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(encoded)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting


@contextmanager
def running() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


async def browser_confirm(fake: FakeStripe, client_secret: str, payment_method: str) -> httpx.Response:
    """What stripe.js does in the shopper's browser: confirm the intent with the publishable key."""
    intent_id = client_secret.split("_secret_")[0]
    async with httpx.AsyncClient(base_url=fake.url, timeout=10) as http:
        return await http.post(
            f"/v1/payment_intents/{intent_id}/confirm",
            data={"payment_method": payment_method, "client_secret": client_secret},
            headers={"Authorization": f"Bearer {PUBLISHABLE_KEY}"},
        )


def stripe_context(make: MakeContext, fake: FakeStripe | None, **overrides: object) -> AppContext:
    """A shop offering Stripe, pointed at ``fake`` (None: no API base, for a test to set its own)."""
    values: dict[str, object] = {
        "payment_methods": ["stripe", "test", "cash_on_delivery"],
        "stripe_secret_key": SECRET_KEY,
        "stripe_publishable_key": PUBLISHABLE_KEY,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_api_base": fake.url if fake is not None else None,
    }
    values.update(overrides)
    return make(**values)
