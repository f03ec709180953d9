"""A small Twilio REST API on loopback: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` as Twilio speaks it
(basic auth with the account SID and auth token, form fields ``To``, ``Body``, ``MessagingServiceSid`` or
``From``, ``StatusCallback``; a JSON message resource with ``sid`` back, or Twilio's JSON error body). It
counts the messages it accepted; a test queues refusals (status, Twilio error code) or a delay."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Accepted:
    sid: str
    fields: dict[str, str]
    headers: dict[str, str]


@dataclass
class State:
    messages: list[Accepted] = field(default_factory=list)
    refusals: list[tuple[int, int | None]] = field(default_factory=list)
    unauthorised: int = 0


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.state = State()
        self.lock = threading.Lock()
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                fake._handle(self)

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

    def refuse_next(self, status: int, code: int | None = None) -> None:
        with self.lock:
            self.state.refusals.append((status, code))

    def _authorised(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def _answer(self, handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    def _error(self, handler: BaseHTTPRequestHandler, status: int, code: int | None, message: str) -> None:
        self._answer(
            handler,
            status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        if self.delay:
            time.sleep(self.delay)
        length = int(handler.headers.get("Content-Length", "0"))
        raw = handler.rfile.read(length).decode()
        if handler.path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            self._error(handler, 404, 20404, "The requested resource was not found")
            return
        if not self._authorised(handler.headers.get("Authorization", "")):
            with self.lock:
                self.state.unauthorised += 1
            self._error(handler, 401, 20003, "Authenticate")
            return
        if handler.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            self._error(handler, 400, None, "form body expected")
            return
        fields = {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}
        with self.lock:
            refusal = self.state.refusals.pop(0) if self.state.refusals else None
        if refusal is not None:
            self._error(handler, refusal[0], refusal[1], "refused as the test asked")
            return
        problem = self._problem(fields)
        if problem is not None:
            self._error(handler, 400, problem[0], problem[1])
            return
        sid = "SM" + secrets.token_hex(16)
        with self.lock:
            self.state.messages.append(Accepted(sid, fields, dict(handler.headers.items())))
        self._answer(handler, 201, self._resource(sid, fields))

    def _problem(self, fields: dict[str, str]) -> tuple[int, str] | None:
        if not fields.get("To", "").startswith("+"):
            return 21211, "Invalid 'To' Phone Number"
        if not fields.get("Body"):
            return 21602, "Message body is required."
        if not (fields.get("MessagingServiceSid") or fields.get("From")):
            return 21603, "A 'From' or 'MessagingServiceSid' parameter is required"
        return None

    def _resource(self, sid: str, fields: dict[str, str]) -> dict[str, Any]:
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "messaging_service_sid": fields.get("MessagingServiceSid"),
            "from": fields.get("From"),
            "to": fields["To"],
            "body": fields["Body"],
            "status": "accepted" if fields.get("MessagingServiceSid") else "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
