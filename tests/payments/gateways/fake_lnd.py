"""A small LND node for the tests: its REST API on loopback, with invoices kept in memory.

It speaks what the shop uses of LND's REST gateway: ``POST /v1/invoices`` and ``GET /v1/invoice/{hash}``,
the macaroon in ``Grpc-Metadata-macaroon``, payment hashes in base64 in bodies and hex in the lookup path,
int64 fields as JSON strings, and grpc-gateway's error body ``{"code": 2, "message": ..., "details": []}``.
Tests play the buyer's side with ``settle``, ``accept`` (a held HTLC), ``pay_part`` and ``cancel``, and let
time pass with ``age``. Like LND, it cancels an open invoice once it has expired (``cancels_expired``;
switched off, it plays a node whose expiry watcher has not run yet). It can serve TLS with a self-signed
certificate made by ``self_signed_certificate``.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

MACAROON_HEADER = "Grpc-Metadata-macaroon"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
DEFAULT_EXPIRY = 86400
MAX_MEMO = 1024


@dataclass
class Invoice:
    preimage: bytes
    r_hash: bytes
    memo: str
    value_msat: int
    expiry: int
    creation_date: int
    add_index: int
    payment_request: str
    payment_addr: bytes
    state: str = "OPEN"
    amt_paid_msat: int = 0
    settle_date: int = 0
    settle_index: int = 0

    def as_json(self) -> dict[str, Any]:
        def b64(raw: bytes) -> str:
            return base64.b64encode(raw).decode()

        settled = self.state == "SETTLED"
        return {
            "memo": self.memo,
            "r_preimage": b64(self.preimage) if settled else "",
            "r_hash": b64(self.r_hash),
            "value": str(self.value_msat // 1000),
            "value_msat": str(self.value_msat),
            "settled": settled,
            "creation_date": str(self.creation_date),
            "settle_date": str(self.settle_date),
            "payment_request": self.payment_request,
            "description_hash": "",
            "expiry": str(self.expiry),
            "fallback_addr": "",
            "cltv_expiry": "80",
            "route_hints": [],
            "private": False,
            "add_index": str(self.add_index),
            "settle_index": str(self.settle_index),
            "amt_paid": str(self.amt_paid_msat),
            "amt_paid_sat": str(self.amt_paid_msat // 1000),
            "amt_paid_msat": str(self.amt_paid_msat),
            "state": self.state,
            "htlcs": [],
            "features": {},
            "is_keysend": False,
            "payment_addr": b64(self.payment_addr),
            "is_amp": False,
        }


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


class LndError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class FakeLnd:
    macaroon_hex: str
    tls: ssl.SSLContext | None = None
    cancels_expired: bool = True
    invoices: dict[str, Invoice] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    # Answer every call with this (status, message), as a node that is failing would.
    failure: tuple[int, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # Running --------------------------------------------------------------------------------------------

    def start(self) -> FakeLnd:
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                node._serve(self, "GET")

            def do_POST(self) -> None:
                node._serve(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    # The buyer's side, and time -----------------------------------------------------------------------

    def invoice(self, hash_hex: str) -> Invoice:
        with self.lock:
            return self.invoices[hash_hex]

    def settle(self, hash_hex: str, paid_msat: int | None = None) -> None:
        with self.lock:
            invoice = self._live(hash_hex)
            if invoice.state not in ("OPEN", "ACCEPTED"):
                raise LndError(500, 2, f"invoice is {invoice.state.lower()}")
            invoice.state = "SETTLED"
            invoice.amt_paid_msat = invoice.value_msat if paid_msat is None else paid_msat
            invoice.settle_date = int(time.time())
            invoice.settle_index = 1 + max((i.settle_index for i in self.invoices.values()), default=0)

    def accept(self, hash_hex: str) -> None:
        """The HTLCs arrived and are held (a hold invoice): not settled."""
        with self.lock:
            invoice = self._live(hash_hex)
            invoice.state = "ACCEPTED"

    def pay_part(self, hash_hex: str, msat: int) -> None:
        """One part of a multi-part payment arrived; the invoice stays open until the rest does."""
        with self.lock:
            invoice = self._live(hash_hex)
            invoice.amt_paid_msat += msat

    def cancel(self, hash_hex: str) -> None:
        with self.lock:
            invoice = self._live(hash_hex)
            if invoice.state == "SETTLED":
                raise LndError(500, 2, "invoice already settled")
            invoice.state = "CANCELED"

    def age(self, hash_hex: str, seconds: int) -> None:
        """Let ``seconds`` pass for this invoice."""
        with self.lock:
            invoice = self.invoices[hash_hex]
            invoice.creation_date -= seconds

    def _live(self, hash_hex: str) -> Invoice:
        invoice = self.invoices[hash_hex]
        self._expire(invoice)
        return invoice

    def _expire(self, invoice: Invoice) -> None:
        if (
            self.cancels_expired
            and invoice.state == "OPEN"
            and time.time() >= invoice.creation_date + invoice.expiry
        ):
            invoice.state = "CANCELED"

    # The REST API -----------------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler, method: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self.lock:
            self.seen.append(Seen(method, request.path, dict(request.headers.items()), body))
        try:
            status, answer = self._route(request, method, raw, body)
        except LndError as exc:
            status, answer = exc.status, {"code": exc.code, "message": exc.message, "details": []}
        payload = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def _route(
        self, request: BaseHTTPRequestHandler, method: str, raw: bytes, body: Any
    ) -> tuple[int, dict[str, Any]]:
        if request.headers.get(MACAROON_HEADER) is None:
            raise LndError(401, 2, "expected 1 macaroon, got 0")
        if not secrets.compare_digest(request.headers.get(MACAROON_HEADER, ""), self.macaroon_hex):
            raise LndError(401, 2, "verification failed: signature mismatch after caveat verification")
        if self.failure is not None:
            raise LndError(self.failure[0], 2, self.failure[1])
        if method == "POST" and request.path == "/v1/invoices":
            if raw and not isinstance(body, dict):
                raise LndError(400, 3, "invalid character in request body")
            return 200, self._add_invoice(body or {})
        if method == "GET" and request.path.startswith("/v1/invoice/"):
            return 200, self._lookup(request.path.removeprefix("/v1/invoice/"))
        raise LndError(404, 5, "Not Found")

    def _add_invoice(self, body: dict[str, Any]) -> dict[str, Any]:
        value = _int64(body.get("value"))
        value_msat = _int64(body.get("value_msat"))
        if value and value_msat:
            raise LndError(500, 2, "value and value_msat are mutually exclusive")
        amount_msat = value_msat or value * 1000
        if amount_msat < 0:
            raise LndError(500, 2, "payment of negative value is not allowed")
        memo = str(body.get("memo", ""))
        if len(memo) > MAX_MEMO:
            raise LndError(500, 2, f"memo too large: {len(memo)} bytes (maxsize={MAX_MEMO})")
        expiry = _int64(body.get("expiry")) or DEFAULT_EXPIRY
        if expiry < 0:
            raise LndError(500, 2, "expiry must be positive")
        preimage = secrets.token_bytes(32)
        r_hash = hashlib.sha256(preimage).digest()
        with self.lock:
            add_index = len(self.invoices) + 1
            sats = amount_msat // 1000
            tail = "".join(secrets.choice(BECH32) for _ in range(180))
            invoice = Invoice(
                preimage=preimage,
                r_hash=r_hash,
                memo=memo,
                value_msat=amount_msat,
                expiry=expiry,
                creation_date=int(time.time()),
                add_index=add_index,
                payment_request=f"lnbcrt{sats * 10}n1p{tail}",
                payment_addr=secrets.token_bytes(32),
            )
            self.invoices[r_hash.hex()] = invoice
        return {
            "r_hash": base64.b64encode(r_hash).decode(),
            "payment_request": invoice.payment_request,
            "add_index": str(add_index),
            "payment_addr": base64.b64encode(invoice.payment_addr).decode(),
        }

    def _lookup(self, hash_hex: str) -> dict[str, Any]:
        try:
            r_hash = bytes.fromhex(hash_hex)
        except ValueError as exc:
            raise LndError(400, 3, "encoding/hex: invalid byte") from exc
        if len(r_hash) != 32:
            raise LndError(500, 2, f"payment hash must be exactly 32 bytes, is {len(r_hash)}")
        with self.lock:
            invoice = self.invoices.get(hash_hex.lower())
            if invoice is None:
                raise LndError(404, 5, "unable to locate invoice")
            self._expire(invoice)
            return invoice.as_json()


def _int64(value: object) -> int:
    """LND's JSON accepts int64 fields as strings or numbers."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise LndError(400, 3, "invalid int64 value")
    try:
        return int(value)
    except ValueError as exc:
        raise LndError(400, 3, f"invalid int64 value {value!r}") from exc


def self_signed_certificate(directory: Path, name: str = "tls") -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, as LND makes its own; (certificate, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "lnd autogenerated cert")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.cert", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context
