"""A small PayPal REST server on loopback for the gateway's tests, speaking PayPal's wire format.

It keeps its own state in memory, like PayPal: OAuth client-credentials tokens that expire, Orders v2
(created -> approved by the buyer -> captured, or voided), captures and their refunds, and the
``PayPal-Request-Id`` idempotency of PayPal (the same id on the same call answers the first response
again and does nothing twice). Webhook deliveries are produced by ``delivery`` with PayPal's transmission
headers; ``/v1/notifications/verify-webhook-signature`` answers SUCCESS only for a delivery it made,
unaltered, for its own webhook id. What the buyer does on PayPal's pages (approve, pay, have a capture
declined) and what a merchant does in PayPal's dashboard (refund) are methods called by the test.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support import free_port

Reply = tuple[int, dict[str, Any]]

AUTH_ALGO = "SHA256withRSA"
WHOLE_UNIT_CURRENCIES = {"HUF", "JPY", "TWD"}


def paypal_id(length: int = 17) -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(length))


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def problem(status: int, name: str, issue: str, description: str, field_path: str | None = None) -> Reply:
    detail: dict[str, Any] = {"issue": issue, "description": description}
    if field_path:
        detail["field"], detail["location"] = field_path, "body"
    return status, {
        "name": name,
        "message": "The requested action could not be performed, semantically incorrect, or failed "
        "business validation."
        if status == 422
        else "Request is not well-formed, syntactically incorrect, or violates schema.",
        "debug_id": secrets.token_hex(7),
        "details": [detail],
    }


def unprocessable(issue: str, description: str, field_path: str | None = None) -> Reply:
    return problem(422, "UNPROCESSABLE_ENTITY", issue, description, field_path)


@dataclass
class Request:
    """What the fake received, for the tests to look at."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakePayPal:
    client_id: str = field(default_factory=lambda: f"AZ{secrets.token_hex(12)}")
    client_secret: str = field(default_factory=lambda: f"E{secrets.token_hex(16)}")
    webhook_id: str = field(default_factory=lambda: paypal_id())
    token_lifetime: int = 32400
    # Seconds every answer waits (to make a client time out).
    delay: float = 0.0
    # Forces verify-webhook-signature's answer, whatever the delivery.
    verification_override: str | None = None

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.port = free_port()
        self.tokens: dict[str, float] = {}
        self.token_requests = 0
        self.orders: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.requests: list[Request] = []
        # (path, PayPal-Request-Id) -> the first answer, replayed for the same id.
        self.replies: dict[tuple[str, str], Reply] = {}
        # Orders whose capture the bank declines: "DECLINED" (a declined capture) or "INSTRUMENT_DECLINED".
        self.declines: dict[str, str] = {}
        self._signing_key = secrets.token_bytes(32)
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # What tests look at --------------------------------------------------------------------------------

    def calls(self, method: str, pattern: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (PayPal answers 401 invalid_token)."""
        with self.lock:
            self.tokens.clear()

    # The buyer and the merchant at PayPal --------------------------------------------------------------

    def approve(self, order_id: str) -> None:
        with self.lock:
            order = self.orders[order_id]
            assert order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"), order["status"]
            order["status"] = "APPROVED"
            order["payer"] = {
                "name": {"given_name": "John", "surname": "Doe"},
                "email_address": "buyer@example.com",
                "payer_id": paypal_id(13),
            }

    def void(self, order_id: str) -> None:
        with self.lock:
            self.orders[order_id]["status"] = "VOIDED"

    def capture_now(self, order_id: str) -> dict[str, Any]:
        """A capture the shop did not see the answer of (its call timed out)."""
        with self.lock:
            return self._capture(order_id)[1]

    def refund_in_dashboard(self, capture_id: str, value: str) -> dict[str, Any]:
        with self.lock:
            status, body = self._refund(capture_id, {"amount": {"value": value, "currency_code": "USD"}})
            assert status == 201, body
            return self.refunds[body["id"]]

    def order_of(self, order_id: str) -> dict[str, Any]:
        with self.lock:
            return json.loads(json.dumps(self.orders[order_id]))  # type: ignore[no-any-return]

    # Webhooks --------------------------------------------------------------------------------------------

    def event(self, event_type: str, resource: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        return {
            "id": event_id or f"WH-{paypal_id()}-{paypal_id()}",
            "event_version": "1.0",
            "create_time": now(),
            "resource_type": event_type.split(".")[-2].lower(),
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": f"{event_type} event",
            "resource": json.loads(json.dumps(resource)),
            "links": [],
        }

    def delivery(self, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The body and headers PayPal would POST to the shop's webhook endpoint."""
        body = json.dumps(event).encode()
        transmission_id, at = str(uuid.uuid4()), now()
        return body, {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": at,
            "PAYPAL-TRANSMISSION-SIG": self._signature(transmission_id, at, self.webhook_id, event),
            "PAYPAL-CERT-URL": f"{self.url}/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
        }

    def _signature(self, transmission_id: str, at: str, webhook_id: str, event: Any) -> str:
        # PayPal signs "<id>|<time>|<webhook id>|<crc32 of the event>" with its private key; an HMAC with a
        # key only this fake knows plays that part.
        canonical = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
        message = f"{transmission_id}|{at}|{webhook_id}|{binascii.crc32(canonical)}".encode()
        return base64.b64encode(hmac.new(self._signing_key, message, hashlib.sha256).digest()).decode()

    # The REST API ----------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            if path == "/v1/oauth2/token" and method == "POST":
                self.requests.append(Request(method, path, headers, raw.decode()))
                return self._token(headers, raw)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return problem(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "The body is not JSON.")
            self.requests.append(Request(method, path, headers, body))
            authorization = headers.get("authorization", "")
            expires = self.tokens.get(authorization.removeprefix("Bearer "))
            if not authorization.startswith("Bearer ") or expires is None or expires < time.time():
                return 401, {
                    "error": "invalid_token",
                    "error_description": "Token signature verification failed",
                }
            request_id = headers.get("paypal-request-id")
            if request_id and (path, request_id) in self.replies:
                return self.replies[(path, request_id)]
            reply = self._route(method, path, body)
            if request_id and reply[0] < 300:
                self.replies[(path, request_id)] = reply
            return reply

    def _route(self, method: str, path: str, body: Any) -> Reply:
        routes: list[tuple[str, str, Callable[..., Reply]]] = [
            ("POST", r"/v2/checkout/orders", lambda: self._create(body)),
            ("GET", r"/v2/checkout/orders/([A-Z0-9]+)", lambda i: self._get_order(i)),
            ("POST", r"/v2/checkout/orders/([A-Z0-9]+)/capture", lambda i: self._capture(i)),
            ("GET", r"/v2/payments/captures/([A-Z0-9]+)", lambda i: self._get_capture(i)),
            ("POST", r"/v2/payments/captures/([A-Z0-9]+)/refund", lambda i: self._refund(i, body or {})),
            ("POST", r"/v1/notifications/verify-webhook-signature", lambda: self._verify(body)),
        ]
        for verb, pattern, action in routes:
            found = re.fullmatch(pattern, path)
            if found and verb == method:
                return action(*found.groups())
        return problem(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "The resource was not found.")

    def _token(self, headers: dict[str, str], raw: bytes) -> Reply:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if not hmac.compare_digest(headers.get("authorization", ""), f"Basic {expected}"):
            return 401, {"error": "invalid_client", "error_description": "Client Authentication failed"}
        if raw.decode() != "grant_type=client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"}
        self.token_requests += 1
        token = f"A21AA{secrets.token_urlsafe(40)}"
        self.tokens[token] = time.time() + self.token_lifetime
        return 200, {
            "scope": "https://uri.paypal.com/services/payments/payment",
            "access_token": token,
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": self.token_lifetime,
            "nonce": f"{now()}{secrets.token_hex(8)}",
        }

    def _money(self, money: Any, where: str) -> Decimal | Reply:
        if not isinstance(money, dict) or not isinstance(money.get("value"), str):
            return problem(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "amount is required", where)
        try:
            value = Decimal(money["value"])
        except InvalidOperation:
            return problem(400, "INVALID_REQUEST", "INVALID_PARAMETER_SYNTAX", "not a number", where)
        places = 0 if money.get("currency_code") in WHOLE_UNIT_CURRENCIES else 2
        if value <= 0 or value != value.quantize(Decimal(1).scaleb(-places)):
            return unprocessable("DECIMAL_PRECISION", "too many decimal places or not positive", where)
        return value

    def _create(self, body: Any) -> Reply:
        if not isinstance(body, dict) or body.get("intent") not in ("CAPTURE", "AUTHORIZE"):
            return problem(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "intent", "/intent")
        units = body.get("purchase_units")
        if not isinstance(units, list) or len(units) != 1 or not isinstance(units[0], dict):
            return problem(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "purchase_units")
        value = self._money(units[0].get("amount"), "/purchase_units/@reference_id=='default'/amount/value")
        if not isinstance(value, Decimal):
            return value
        order_id = paypal_id()
        context = ((body.get("payment_source") or {}).get("paypal") or {}).get("experience_context")
        self.orders[order_id] = {
            "id": order_id,
            "intent": body["intent"],
            # With payment_source.paypal PayPal answers PAYER_ACTION_REQUIRED and a payer-action link.
            "status": "PAYER_ACTION_REQUIRED" if context else "CREATED",
            "purchase_units": [json.loads(json.dumps(units[0]))],
            "experience_context": context or {},
            "create_time": now(),
        }
        return 201, self._order_view(order_id)

    def _order_view(self, order_id: str) -> dict[str, Any]:
        order = self.orders[order_id]
        view = {k: v for k, v in order.items() if k != "experience_context"}
        links = [{"href": f"{self.url}/v2/checkout/orders/{order_id}", "rel": "self", "method": "GET"}]
        if order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"):
            rel = "payer-action" if order["status"] == "PAYER_ACTION_REQUIRED" else "approve"
            links.append({"href": f"{self.url}/checkoutnow?token={order_id}", "rel": rel, "method": "GET"})
        if order["status"] == "APPROVED":
            links.append(
                {
                    "href": f"{self.url}/v2/checkout/orders/{order_id}/capture",
                    "rel": "capture",
                    "method": "POST",
                }
            )
        view["links"] = links
        return json.loads(json.dumps(view))  # type: ignore[no-any-return]

    def _get_order(self, order_id: str) -> Reply:
        if order_id not in self.orders:
            return problem(
                404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist."
            )
        return 200, self._order_view(order_id)

    def _capture(self, order_id: str) -> Reply:
        order = self.orders.get(order_id)
        if order is None:
            return problem(
                404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist."
            )
        if order["status"] == "COMPLETED":
            return unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured.")
        if order["status"] != "APPROVED":
            return unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.")
        decline = self.declines.get(order_id)
        if decline == "INSTRUMENT_DECLINED":
            return unprocessable("INSTRUMENT_DECLINED", "The instrument presented was either declined.")
        unit = order["purchase_units"][0]
        capture_id = paypal_id()
        capture = {
            "id": capture_id,
            "status": "DECLINED" if decline == "DECLINED" else "COMPLETED",
            "amount": dict(unit["amount"]),
            "final_capture": True,
            "custom_id": unit.get("custom_id"),
            "seller_protection": {"status": "ELIGIBLE"},
            "supplementary_data": {"related_ids": {"order_id": order_id}},
            "create_time": now(),
            "refunded_minor_value": Decimal(0),
            "links": [
                {"href": f"{self.url}/v2/payments/captures/{capture_id}", "rel": "self", "method": "GET"},
                {"href": f"{self.url}/v2/checkout/orders/{order_id}", "rel": "up", "method": "GET"},
            ],
        }
        if decline == "DECLINED":
            capture["status_details"] = {"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"}
        self.captures[capture_id] = capture
        order["status"] = "COMPLETED"
        unit["payments"] = {"captures": [self._capture_view(capture_id)]}
        return 201, self._order_view(order_id)

    def _capture_view(self, capture_id: str) -> dict[str, Any]:
        capture = self.captures[capture_id]
        return json.loads(  # type: ignore[no-any-return]
            json.dumps({k: v for k, v in capture.items() if k != "refunded_minor_value"})
        )

    def _get_capture(self, capture_id: str) -> Reply:
        if capture_id not in self.captures:
            return problem(
                404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist."
            )
        return 200, self._capture_view(capture_id)

    def _refund(self, capture_id: str, body: Any) -> Reply:
        capture = self.captures.get(capture_id)
        if capture is None:
            return problem(
                404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist."
            )
        if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            if capture["status"] == "REFUNDED":
                return unprocessable("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded")
            return unprocessable("INVALID_RESOURCE_STATE", "The capture cannot be refunded.")
        captured = Decimal(capture["amount"]["value"])
        left = captured - capture["refunded_minor_value"]
        if isinstance(body, dict) and "amount" in body:
            value = self._money(body["amount"], "/amount/value")
            if not isinstance(value, Decimal):
                return value
            if body["amount"].get("currency_code") != capture["amount"]["currency_code"]:
                return unprocessable("REFUND_CURRENCY_MISMATCH", "Refund must be in the capture's currency.")
        else:
            value = left
        if value > left:
            return unprocessable(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to the capture amount that has not yet been "
                "refunded.",
            )
        capture["refunded_minor_value"] += value
        capture["status"] = (
            "REFUNDED" if capture["refunded_minor_value"] == captured else "PARTIALLY_REFUNDED"
        )
        order_id = capture["supplementary_data"]["related_ids"]["order_id"]
        self.orders[order_id]["purchase_units"][0]["payments"] = {
            "captures": [self._capture_view(capture_id)]
        }
        currency = capture["amount"]["currency_code"]
        refund_id = paypal_id()
        self.refunds[refund_id] = {
            "id": refund_id,
            "status": "COMPLETED",
            "amount": {"currency_code": currency, "value": f"{value:f}"},
            "note_to_payer": body.get("note_to_payer") if isinstance(body, dict) else None,
            "seller_payable_breakdown": {
                "gross_amount": {"currency_code": currency, "value": f"{value:f}"},
                "total_refunded_amount": {
                    "currency_code": currency,
                    "value": f"{capture['refunded_minor_value']:f}",
                },
            },
            "create_time": now(),
            "links": [
                {"href": f"{self.url}/v2/payments/refunds/{refund_id}", "rel": "self", "method": "GET"},
                {"href": f"{self.url}/v2/payments/captures/{capture_id}", "rel": "up", "method": "GET"},
            ],
        }
        return 201, json.loads(json.dumps(self.refunds[refund_id]))

    def _verify(self, body: Any) -> Reply:
        needed = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time")
        if not isinstance(body, dict) or not isinstance(body.get("webhook_event"), dict):
            return problem(
                400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER", "webhook_event", "webhook_event"
            )
        for name in (*needed, "webhook_id"):
            if not isinstance(body.get(name), str) or not body[name]:
                return problem(400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER", name, name)
        if self.verification_override is not None:
            return 200, {"verification_status": self.verification_override}
        expected = self._signature(
            body["transmission_id"], body["transmission_time"], body["webhook_id"], body["webhook_event"]
        )
        genuine = (
            body["webhook_id"] == self.webhook_id
            and body["auth_algo"] == AUTH_ALGO
            and body["cert_url"].startswith(f"{self.url}/v1/notifications/certs/")
            and hmac.compare_digest(expected, body["transmission_sig"])
        )
        return 200, {"verification_status": "SUCCESS" if genuine else "FAILURE"}


def _handler(fake: FakePayPal) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = fake.handle(self.command, self.path, headers, raw)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Paypal-Debug-Id", secrets.token_hex(7))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
