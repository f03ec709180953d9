"""Pure ASGI middleware: request ids, access logs and the request body size limit."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emporium.core.errors import error_body
from emporium.core.metrics import LATENCY, REQUESTS
from emporium.core.sentry import report_request_error

log = structlog.get_logger("emporium.access")

REQUEST_ID_HEADER = b"x-request-id"
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
INTERNAL_ERROR_MESSAGE = "Something went wrong on our side."


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
                return None
    return None


class RequestContextMiddleware:
    """Takes a well-formed ``X-Request-ID`` or makes one, echoes it, binds it to every log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, REQUEST_ID_HEADER)
        # fullmatch: "$" alone would let a trailing newline through into the response header and logs.
        request_id = incoming if incoming and _WELL_FORMED_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Answer here, inside the request id and the access log, and never with Starlette's debug
            # page: no stack trace leaves the server, whatever EMPORIUM_DEBUG says.
            route = getattr(scope.get("route"), "path", "unmatched")
            report_request_error(exc, request_id=request_id, method=scope["method"], route=route)
            if response_started:
                raise
            log.exception("unhandled_error", path=scope["path"], error_type=type(exc).__name__)
            await _send_error(send_with_id, 500, "INTERNAL_ERROR", INTERNAL_ERROR_MESSAGE)
        finally:
            elapsed = time.perf_counter() - started
            # The route template, not the path: /users/addresses/{address_id} is one series, not millions.
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()


@dataclass(frozen=True)
class BodyLimit:
    """A larger (or smaller) body limit for the requests of one method whose path fully matches ``path``."""

    method: str
    path: re.Pattern[str]
    max_bytes: int


class BodySizeLimitMiddleware:
    """Refuses request bodies over the limit with 413, whether announced by Content-Length or streamed.

    ``max_bytes`` holds for every request except those an entry of ``overrides`` matches (an image upload).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, overrides: Sequence[BodyLimit] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = tuple(overrides)

    def _limit_for(self, scope: Scope) -> int:
        for override in self.overrides:
            if scope["method"] == override.method and override.path.fullmatch(scope["path"]):
                return override.max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit_for(scope)
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _send_error(send, 400, "BAD_REQUEST", "Content-Length is not a number.")
                return
            if int(declared) > max_bytes:
                await _refuse_too_large(send)
                return
        # Read the whole body first (it is at most max_bytes) so nothing half-parsed reaches a route.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                await _refuse_too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse_too_large(send: Send) -> None:
    await _send_error(send, 413, "PAYLOAD_TOO_LARGE", "The request body is too large.")


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    payload = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
