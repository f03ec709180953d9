"""A small Razorpay API on loopback for the tests: its wire format (``/v1/orders``, ``/v1/payments``,
basic auth with the key id and secret, amounts in minor units, ``{"error": {"code", "description"}}``
bodies), its rules (a payment captured once and only for its amount, refunds never above what was
captured) and in-memory state. The test plays Razorpay Checkout (``pay``), the dashboard
(``refund_from_dashboard``) and the webhook sender (``event``) through it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_ALPHABET = string.ascii_letters + string.digits
CURRENCIES = frozenset({"INR", "USD", "EUR", "GBP", "SGD", "AED"})


def razorpay_id(prefix: str) -> str:
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(14))}"


class Refused(Exception):
    def __init__(self, description: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.field = status, description, field


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any] | None


@dataclass
class State:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)


class FakeRazorpay:
    def __init__(self, key_id: str, key_secret: str, webhook_secret: str) -> None:
        self.key_id, self.key_secret, self.webhook_secret = key_id, key_secret, webhook_secret
        self.state = State()
        self.lock = threading.Lock()
        # Seconds every answer waits (to make the shop's timeout fire).
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # What the tests read ----------------------------------------------------------------------------------

    def calls_to(self, method: str, suffix: str) -> list[Call]:
        with self.lock:
            return [c for c in self.state.calls if c.method == method and c.path.endswith(suffix)]

    def only_order(self) -> dict[str, Any]:
        with self.lock:
            (order,) = self.state.orders.values()
            return dict(order)

    # Razorpay Checkout, the dashboard and the webhook sender ----------------------------------------------

    def pay(self, order_id: str, status: str = "captured", *, last4: str = "1111") -> str:
        """The shopper pays a Razorpay order in Checkout: ``captured`` (auto-capture), ``authorized``
        (the merchant captures) or ``failed``. The payment id Checkout hands to the browser."""
        with self.lock:
            order = self.state.orders[order_id]
            payment_id = razorpay_id("pay")
            failed = status == "failed"
            self.state.payments[payment_id] = {
                "id": payment_id,
                "entity": "payment",
                "amount": order["amount"],
                "currency": order["currency"],
                "status": status,
                "order_id": order_id,
                "invoice_id": None,
                "international": False,
                "method": "card",
                "amount_refunded": 0,
                "refund_status": None,
                "captured": status == "captured",
                "description": None,
                "card_id": razorpay_id("card"),
                "card": {
                    "id": razorpay_id("card"),
                    "entity": "card",
                    "name": "",
                    "last4": last4,
                    "network": "Visa",
                    "type": "credit",
                    "issuer": None,
                    "international": False,
                    "emi": False,
                },
                "bank": None,
                "wallet": None,
                "vpa": None,
                "email": "guest@example.com",
                "contact": "+919900000000",
                "notes": [],
                "fee": None if status != "captured" else order["amount"] // 50,
                "tax": None,
                "error_code": "BAD_REQUEST_ERROR" if failed else None,
                "error_description": "Payment failed because the card was declined." if failed else None,
                "error_source": "bank" if failed else None,
                "error_step": "payment_authorization" if failed else None,
                "error_reason": "payment_declined" if failed else None,
                "acquirer_data": {},
                "created_at": int(time.time()),
            }
            order["attempts"] += 1
            order["status"] = "attempted"
            if status == "captured":
                self._order_paid(order, order["amount"])
            return payment_id

    def signature(self, order_id: str, payment_id: str) -> str:
        """What Checkout signs for the browser: HMAC-SHA256 of ``order_id|payment_id`` with the key secret."""
        message = f"{order_id}|{payment_id}".encode()
        return hmac.new(self.key_secret.encode(), message, hashlib.sha256).hexdigest()

    def refund_from_dashboard(self, payment_id: str, amount: int) -> dict[str, Any]:
        with self.lock:
            return self._refund(payment_id, {"amount": amount})

    def event(
        self,
        kind: str,
        *,
        payment_id: str | None = None,
        refund_id: str | None = None,
        order_id: str | None = None,
    ) -> bytes:
        """A webhook body as Razorpay sends it, with the entities as they are now."""
        with self.lock:
            payload: dict[str, Any] = {}
            if payment_id is not None:
                payload["payment"] = {"entity": dict(self.state.payments[payment_id])}
            if refund_id is not None:
                payload["refund"] = {"entity": dict(self.state.refunds[refund_id])}
            if order_id is not None:
                payload["order"] = {"entity": dict(self.state.orders[order_id])}
        event = {
            "entity": "event",
            "account_id": "acc_EmporiumTest01",
            "event": kind,
            "contains": list(payload),
            "payload": payload,
            "created_at": int(time.time()),
        }
        return json.dumps(event).encode()

    def webhook_headers(self, body: bytes, event_id: str | None = None) -> dict[str, str]:
        signature = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Razorpay-Signature": signature}
        if event_id is not None:
            headers["X-Razorpay-Event-Id"] = event_id
        return headers

    # The HTTP API ------------------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        if self.delay:
            time.sleep(self.delay)
        parts = urlsplit(request.path)
        body: dict[str, Any] | None = None
        try:
            if not self._authorized(request.headers.get("Authorization")):
                raise Refused("Authentication failed", status=401)
            if method == "POST":
                length = int(request.headers.get("Content-Length") or 0)
                raw = request.rfile.read(length) if length else b"{}"
                try:
                    parsed = json.loads(raw)
                except ValueError as exc:
                    raise Refused("The request body is not valid JSON") from exc
                if not isinstance(parsed, dict):
                    raise Refused("The request body must be an object")
                body = parsed
            with self.lock:
                self.state.calls.append(Call(method, parts.path, body))
                status, answer = 200, self._route(method, parts.path, body or {}, parse_qs(parts.query))
        except Refused as refused:
            error: dict[str, Any] = {
                "code": "BAD_REQUEST_ERROR",
                "description": refused.description,
                "source": "business",
                "step": "payment_initiation",
                "reason": "input_validation_failed",
                "metadata": {},
            }
            if refused.field:
                error["field"] = refused.field
            status, answer = refused.status, {"error": error}
        encoded = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(encoded)))
        request.end_headers()
        request.wfile.write(encoded)

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return False
        key_id, _, secret = decoded.partition(":")
        return hmac.compare_digest(key_id, self.key_id) and hmac.compare_digest(secret, self.key_secret)

    def _route(
        self, method: str, path: str, body: dict[str, Any], query: dict[str, list[str]]
    ) -> dict[str, Any]:
        segments = path.strip("/").split("/")
        match method, segments:
            case "POST", ["v1", "orders"]:
                return self._create_order(body)
            case "GET", ["v1", "orders", order_id]:
                return dict(self._order(order_id))
            case "GET", ["v1", "orders", order_id, "payments"]:
                self._order(order_id)
                items = [p for p in self.state.payments.values() if p["order_id"] == order_id]
                return {"entity": "collection", "count": len(items), "items": items}
            case "GET", ["v1", "payments", payment_id]:
                return dict(self._payment(payment_id))
            case "POST", ["v1", "payments", payment_id, "capture"]:
                return self._capture(payment_id, body)
            case "POST", ["v1", "payments", payment_id, "refund"]:
                return self._refund(payment_id, body)
            case "GET", ["v1", "payments", payment_id, "refunds"]:
                self._payment(payment_id)
                count = int((query.get("count") or ["10"])[0])
                items = [r for r in self.state.refunds.values() if r["payment_id"] == payment_id][:count]
                return {"entity": "collection", "count": len(items), "items": items}
        raise Refused("The requested URL was not found on the server.", status=404)

    def _order(self, order_id: str) -> dict[str, Any]:
        if order_id not in self.state.orders:
            raise Refused("The id provided does not exist", field="id")
        return self.state.orders[order_id]

    def _payment(self, payment_id: str) -> dict[str, Any]:
        if payment_id not in self.state.payments:
            raise Refused("The id provided does not exist", field="id")
        return self.state.payments[payment_id]

    def _create_order(self, body: dict[str, Any]) -> dict[str, Any]:
        amount, currency = body.get("amount"), body.get("currency")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise Refused("The amount must be an integer.", field="amount")
        if amount < 100:
            raise Refused("The amount must be atleast INR 1.00", field="amount")
        if currency not in CURRENCIES:
            raise Refused("The currency provided is invalid.", field="currency")
        receipt = body.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise Refused("receipt: The receipt may not be greater than 40 characters.", field="receipt")
        notes = body.get("notes", [])
        if notes and (not isinstance(notes, dict) or len(notes) > 15):
            raise Refused("notes: The notes may not have more than 15 items.", field="notes")
        order = {
            "id": razorpay_id("order"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency,
            "receipt": receipt,
            "offer_id": None,
            "status": "created",
            "attempts": 0,
            "notes": notes,
            "created_at": int(time.time()),
        }
        self.state.orders[order["id"]] = order
        return dict(order)

    def _order_paid(self, order: dict[str, Any], amount: int) -> None:
        order.update(status="paid", amount_paid=amount, amount_due=order["amount"] - amount)

    def _capture(self, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
        payment = self._payment(payment_id)
        if payment["status"] in ("captured", "refunded"):
            raise Refused("This payment has already been captured")
        if payment["status"] != "authorized":
            raise Refused("Only payments which have been authorized and not yet captured can be captured")
        if body.get("amount") != payment["amount"]:
            raise Refused("Capture amount must be equal to the amount authorized", field="amount")
        if body.get("currency", payment["currency"]) != payment["currency"]:
            raise Refused("Currency should be same as payment currency", field="currency")
        payment.update(status="captured", captured=True, fee=payment["amount"] // 50)
        self._order_paid(self.state.orders[payment["order_id"]], payment["amount"])
        return dict(payment)

    def _refund(self, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
        payment = self._payment(payment_id)
        if payment["status"] not in ("captured", "refunded"):
            raise Refused("Only captured payments can be refunded")
        left = payment["amount"] - payment["amount_refunded"]
        amount = body.get("amount", left)
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
            raise Refused("The refund amount must be atleast INR 1.00", field="amount")
        if amount > left:
            raise Refused("The total refund amount is greater than the refund payment amount", field="amount")
        refund = {
            "id": razorpay_id("rfnd"),
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment_id,
            "notes": body.get("notes", []),
            "receipt": body.get("receipt"),
            "acquirer_data": {"arn": None},
            "created_at": int(time.time()),
            "batch_id": None,
            "status": "processed",
            "speed_processed": "normal",
            "speed_requested": body.get("speed", "normal"),
        }
        self.state.refunds[refund["id"]] = refund
        payment["amount_refunded"] += amount
        full = payment["amount_refunded"] == payment["amount"]
        payment.update(refund_status="full" if full else "partial", status="refunded" if full else "captured")
        return dict(refund)
