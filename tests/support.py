"""Helpers shared by the tests: real SMTP capture, API shortcuts and SQL statement counting."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import event
from sqlalchemy.engine.interfaces import ExecuteStyle
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.core.direct_reads import DirectReads

STRONG_PASSWORD = "correct horse battery staple"


@dataclass
class CapturedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())


@dataclass
class MailSink:
    """An aiosmtpd handler that keeps every message it receives."""

    messages: list[CapturedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(CapturedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[CapturedMail]:
        with self.lock:
            return [m for m in self.messages if address.lower() in (r.lower() for r in m.recipients)]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """A real SMTP server on loopback (aiosmtpd in its own thread)."""

    def __init__(self) -> None:
        self.sink = MailSink()
        self.port = free_port()
        self.controller = Controller(
            self.sink, hostname="127.0.0.1", port=self.port, server_hostname="localhost"
        )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def token_from(text: str, kind: str = "token") -> str:
    """The token carried by a link in a mail (``...?token=XYZ``)."""
    found = re.search(rf"[?&]{kind}=([A-Za-z0-9_\-]+)", text)
    assert found, f"no {kind} link in: {text!r}"
    return found.group(1)


@contextmanager
def count_statements(engine: AsyncEngine, direct: DirectReads | None = None) -> Iterator[list[str]]:
    """Every SQL statement sent while the block runs (savepoint bookkeeping excluded), through
    ``engine`` and, when given, through the database's ``direct_reads`` (see core/direct_reads.py)."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if (
            not statement.lstrip()
            .upper()
            .startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))
        ):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    if direct is not None:
        direct.observers.append(statements.append)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        if direct is not None:
            direct.observers.remove(statements.append)


@contextmanager
def count_executed(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the database executes while the block runs (savepoint and transaction
    bookkeeping excluded), counted as the server counts them: an executemany runs its statement once per
    parameter set (asyncpg and sqlite3 alike), so it appears here once per row; a multi-row INSERT that
    SQLAlchemy batches into one statement ("insertmanyvalues") appears once per batch it sends."""
    executed: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(_BOOKKEEPING):
            return
        style = getattr(context, "execute_style", None)
        runs = len(parameters) if many and style is ExecuteStyle.EXECUTEMANY else 1
        executed.extend([statement] * runs)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield executed
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


_BOOKKEEPING = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT", "ROLLBACK")


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True, body
    return body["data"]


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    err: dict[str, Any] = body["error"]
    return err


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def asgi_client(app: Any) -> httpx.AsyncClient:
    """An HTTP client talking to ``app`` in-process (its lifespan is not run)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def warm_up(client: httpx.AsyncClient) -> None:
    """The first request a process answers also reads the store's settings, once (store/profile.py): send
    one that reads nothing else, so the statements counted after it are the route's own."""
    assert (await client.get("/api/v1/payments/methods")).status_code == 200
