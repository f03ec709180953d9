"""A small Bitcoin Core (or Litecoin Core) node for the tests: its JSON-RPC interface on loopback.

It speaks the node's wire format: POST of ``{"jsonrpc": "1.0"|"2.0", "id", "method", "params"}`` with basic
auth (401 and an empty body for wrong credentials), answers ``{"result", "error", "id"}`` with amounts as
JSON numbers of 8 decimal places, and RPC errors with Bitcoin Core's codes and HTTP statuses (500 for a
1.0 request, 404 for an unknown method, 200 with the error for a 2.0 request). Its wallet hands out new
addresses with labels, and tests credit coins to them (``credit``) and mine blocks (``mine``), so
``getreceivedbyaddress`` answers by confirmations as a node does. Staff sending coins back is ``send``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support import free_port

RPC_INVALID_REQUEST = -32600
RPC_METHOD_NOT_FOUND = -32601
RPC_INVALID_PARAMS = -32602
RPC_PARSE_ERROR = -32700
RPC_WALLET_ERROR = -4
RPC_INVALID_ADDRESS_OR_KEY = -5
RPC_INVALID_PARAMETER = -8
ADDRESS_CHARS = "023456789acdefghjklmnpqrstuvwxyz"


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class WalletTx:
    txid: str
    address: str
    units: int  # positive: received; negative: sent
    block_height: int | None = None  # None while in the mempool
    fee_units: int = 0


@dataclass
class Wallet:
    hrp: str
    labels: dict[str, str] = field(default_factory=dict)
    txs: list[WalletTx] = field(default_factory=list)
    height: int = 100


def _amount(units: int) -> Decimal:
    return Decimal(units).scaleb(-8).quantize(Decimal("0.00000001"))


def _dumps(value: Any) -> str:
    """JSON as the node writes it: amounts as plain numbers with 8 places (never 5e-08)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dumps(v) for v in value) + "]"
    return json.dumps(value)


class FakeBitcoind:
    def __init__(self, *, user: str, password: str, hrp: str = "bcrt") -> None:
        self.user = user
        self.password = password
        self.wallet = Wallet(hrp=hrp)
        self.lock = threading.Lock()
        self.calls: list[tuple[str, list[Any]]] = []
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/wallet/shop"

    # Running -------------------------------------------------------------------------------------------

    def start(self) -> None:
        node = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                node._handle(self)

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """The node goes down: connections are refused until ``start`` again (on the same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # What tests do to the chain ------------------------------------------------------------------------

    def credit(self, address: str, units: int, *, confirmations: int = 0) -> str:
        """Someone pays ``units`` to ``address``; ``confirmations`` blocks already mined on top."""
        with self.lock:
            txid = secrets.token_hex(32)
            height = None if confirmations == 0 else self.wallet.height - confirmations + 1
            self.wallet.txs.append(WalletTx(txid, address, units, height))
            return txid

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks``: mempool transactions enter the first one, every transaction gains depth."""
        with self.lock:
            for _ in range(blocks):
                self.wallet.height += 1
                for tx in self.wallet.txs:
                    if tx.block_height is None:
                        tx.block_height = self.wallet.height

    def send(self, address: str, units: int, *, fee_units: int = 141) -> str:
        """The shop's wallet sends coins (what staff do to return a payment by hand)."""
        with self.lock:
            txid = secrets.token_hex(32)
            self.wallet.txs.append(WalletTx(txid, address, -units, None, fee_units))
            return txid

    def called(self, method: str) -> int:
        with self.lock:
            return sum(1 for name, _ in self.calls if name == method)

    # The RPC interface ---------------------------------------------------------------------------------

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.user) and secrets.compare_digest(password, self.password)

    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        if not self._authorised(http.headers.get("Authorization")):
            http.send_response(401)
            http.send_header("WWW-Authenticate", 'Basic realm="jsonrpc"')
            http.send_header("Content-Length", "0")
            http.end_headers()
            return
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length)
        request_id: Any = None
        version = "1.0"
        try:
            try:
                request = json.loads(raw, parse_float=Decimal)
            except ValueError as exc:
                raise RpcError(RPC_PARSE_ERROR, "Parse error") from exc
            if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                raise RpcError(RPC_INVALID_REQUEST, "Missing method")
            request_id = request.get("id")
            version = "2.0" if request.get("jsonrpc") == "2.0" else "1.0"
            params = request.get("params") or []
            if not isinstance(params, list):
                raise RpcError(RPC_INVALID_REQUEST, "Params must be an array")
            with self.lock:
                self.calls.append((request["method"], params))
                result = self._dispatch(request["method"], params)
        except RpcError as exc:
            error = {"code": exc.code, "message": exc.message}
            if version == "2.0":
                self._reply(http, 200, {"jsonrpc": "2.0", "error": error, "id": request_id})
            else:
                status = 404 if exc.code == RPC_METHOD_NOT_FOUND else 500
                self._reply(http, status, {"result": None, "error": error, "id": request_id})
            return
        if version == "2.0":
            self._reply(http, 200, {"jsonrpc": "2.0", "result": result, "id": request_id})
        else:
            self._reply(http, 200, {"result": result, "error": None, "id": request_id})

    def _reply(self, http: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = _dumps(body).encode()
        http.send_response(status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(data)))
        http.end_headers()
        http.wfile.write(data)

    def _dispatch(self, method: str, params: list[Any]) -> Any:
        wallet = self.wallet
        if method == "getnewaddress":
            label = params[0] if params else ""
            if not isinstance(label, str):
                raise RpcError(RPC_INVALID_PARAMS, "JSON value is not a string as expected")
            address = f"{wallet.hrp}1q" + "".join(secrets.choice(ADDRESS_CHARS) for _ in range(38))
            wallet.labels[address] = label
            return address
        if method == "getreceivedbyaddress":
            if not params or not isinstance(params[0], str):
                raise RpcError(RPC_INVALID_PARAMS, 'getreceivedbyaddress "address" ( minconf )')
            address = params[0]
            minconf = params[1] if len(params) > 1 else 1
            if not isinstance(minconf, int) or isinstance(minconf, bool):
                raise RpcError(RPC_INVALID_PARAMS, "JSON value is not an integer as expected")
            if not address.startswith(f"{wallet.hrp}1"):
                raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid Bitcoin address")
            if address not in wallet.labels:
                raise RpcError(RPC_WALLET_ERROR, "Address not found in wallet")
            return _amount(
                sum(
                    tx.units
                    for tx in wallet.txs
                    if tx.address == address and tx.units > 0 and self._depth(tx) >= minconf
                )
            )
        if method == "gettransaction":
            if not params or not isinstance(params[0], str):
                raise RpcError(RPC_INVALID_PARAMS, 'gettransaction "txid"')
            tx = next((t for t in wallet.txs if t.txid == params[0]), None)
            if tx is None:
                raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid or non-wallet transaction id")
            category = "receive" if tx.units > 0 else "send"
            detail: dict[str, Any] = {
                "address": tx.address,
                "category": category,
                "amount": _amount(tx.units),
                "label": wallet.labels.get(tx.address, ""),
            }
            answer: dict[str, Any] = {
                "amount": _amount(tx.units),
                "confirmations": self._depth(tx),
                "txid": tx.txid,
                "details": [detail],
                "hex": hashlib.sha256(tx.txid.encode()).hexdigest(),
            }
            if tx.units < 0:
                answer["fee"] = _amount(-tx.fee_units)
                detail["fee"] = answer["fee"]
            return answer
        if method == "getblockcount":
            return wallet.height
        raise RpcError(RPC_METHOD_NOT_FOUND, "Method not found")

    def _depth(self, tx: WalletTx) -> int:
        return 0 if tx.block_height is None else self.wallet.height - tx.block_height + 1
