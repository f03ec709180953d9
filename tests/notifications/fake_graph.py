"""A small Graph API on loopback for WhatsApp's Cloud API: ``POST /v21.0/{phone-number-id}/messages`` with a
bearer token and Meta's JSON (``messaging_product``, ``to``, ``type`` text or template), answering
``{"messages": [{"id": "wamid..."}]}`` or Meta's error body. It counts the messages it accepted; a test
queues refusals (status, Meta error code) or a delay."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class State:
    messages: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[tuple[int, int]] = field(default_factory=list)
    unauthorised: int = 0


def _shape_problem(body: Any) -> str | None:
    """What is wrong with a message's JSON, as the Cloud API would refuse it."""
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not str(body.get("to", "")).isdigit():
        return "to must be a phone number"
    if body.get("type") == "text":
        text = body.get("text")
        return None if isinstance(text, dict) and text.get("body") else "text.body is required"
    if body.get("type") == "template":
        template = body.get("template") or {}
        if not template.get("name") or not (template.get("language") or {}).get("code"):
            return "template name and language code are required"
        for component in template.get("components", []):
            for parameter in component.get("parameters", []):
                if parameter.get("type") != "text" or not parameter.get("text"):
                    return "template parameters must be non-empty text"
        return None
    return "unsupported type"


class FakeGraph:
    def __init__(self, phone_number_id: str, access_token: str, version: str = "v21.0") -> None:
        self.phone_number_id, self.access_token, self.version = phone_number_id, access_token, version
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
        return f"http://127.0.0.1:{self.server.server_address[1]}/{self.version}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def refuse_next(self, status: int, code: int) -> None:
        with self.lock:
            self.state.refusals.append((status, code))

    def _answer(self, handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    def _error(self, handler: BaseHTTPRequestHandler, status: int, code: int, message: str) -> None:
        error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Afake"}
        self._answer(handler, status, {"error": error})

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        if self.delay:
            time.sleep(self.delay)
        raw = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        if handler.path != f"/{self.version}/{self.phone_number_id}/messages":
            self._error(handler, 400, 100, "Unsupported post request")
            return
        if handler.headers.get("Authorization") != f"Bearer {self.access_token}":
            with self.lock:
                self.state.unauthorised += 1
            self._error(handler, 401, 190, "Invalid OAuth access token")
            return
        with self.lock:
            refusal = self.state.refusals.pop(0) if self.state.refusals else None
        if refusal is not None:
            self._error(handler, refusal[0], refusal[1], "refused as the test asked")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._error(handler, 400, 100, "Invalid JSON")
            return
        problem = _shape_problem(body)
        if problem is not None or handler.headers.get("Content-Type", "").split(";")[0] != "application/json":
            self._error(handler, 400, 100, problem or "JSON expected")
            return
        message_id = "wamid." + secrets.token_urlsafe(24)
        with self.lock:
            self.state.messages.append(body)
        self._answer(
            handler,
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": message_id}],
            },
        )
