"""Error reports reach a Sentry ingestion endpoint (a real HTTP server on loopback) when a DSN is set, carry
the exception, the request id and the user id, and nothing personal: no token, cookie, e-mail, password,
client address or request body. Without a DSN nothing is initialised and nothing is sent."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sentry_sdk
from fastapi import FastAPI, Request

import emporium
from emporium.accounts.auth import SignedIn
from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.core.db import Database
from emporium.core.jobs import enqueue, register_job
from emporium.core.jobs.models import Job, JobStatus
from emporium.settings import AppSettings
from tests.conftest import MakeContext, sign_up
from tests.core.processes import process_env, run_worker_once
from tests.support import STRONG_PASSWORD, data

CLIENT_IP = "203.0.113.77"
EMAIL = "sentry.shopper@example.com"
JOB_NOBODY_HANDLES = "test.sentry_nobody_handles"
# This checkout's code, for the worker process.
SOURCE = str(Path(emporium.__file__).resolve().parents[1])


@dataclass
class Ingest:
    """A Sentry ingestion endpoint: keeps the envelopes POSTed to /api/<project>/envelope/."""

    port: int = 0
    bodies: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.port}/1"

    def events(self) -> list[dict[str, Any]]:
        return [payload for body in self.bodies for kind, payload in _items(body) if kind == "event"]


def _items(body: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    """The items of an envelope: a header line, then per item a header line and its payload."""
    lines = body.split(b"\n", 1)
    rest = lines[1] if len(lines) > 1 else b""
    while rest.strip():
        header_line, rest = rest.split(b"\n", 1)
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] :].lstrip(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        yield header.get("type", ""), json.loads(payload)


@pytest.fixture
def ingest() -> Iterator[Ingest]:
    sink = Ingest()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            sink.paths.append(self.path)
            sink.bodies.append(body)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        # Back to no client at all, so no later test in this process reports anything.
        sentry_sdk.get_client().close(timeout=2)
        sentry_sdk.get_global_scope().set_client(None)
        server.shutdown()
        server.server_close()
        thread.join(5)


def _boom_app(context: AppContext) -> FastAPI:
    app = create_app(ctx=context)

    @app.post("/test/boom")
    async def boom(principal: SignedIn, request: Request) -> None:
        await request.json()
        raise RuntimeError(f"could not charge {principal.user.email}")

    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(CLIENT_IP, 40123))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _raise_in_a_route(app: FastAPI) -> tuple[httpx.Response, list[str], int]:
    """Signs up, then calls a route that raises with every kind of personal data about it; returns the
    response, the secrets sent and the user's id."""
    async with _client(app) as http:
        shopper = await sign_up(http, EMAIL)
        user_id = data(await http.get("/api/v1/users/profile", headers=shopper.headers))["id"]
        access_token = shopper.headers["Authorization"].removeprefix("Bearer ")
        response = await http.post(
            "/test/boom?token=query-secret-5150",
            headers={
                **shopper.headers,
                "Cookie": "emporium_session=cookie-secret-8086",
                "X-Cart-Token": "cart-secret-6502",
                "X-Api-Key": "api-key-secret-1984",
                "X-Request-ID": "sentry-request-0042",
            },
            json={"password": "body-password-2600", "note": "body-note-7777"},
        )
    secrets = [
        access_token,
        "cookie-secret-8086",
        "cart-secret-6502",
        "api-key-secret-1984",
        "query-secret-5150",
        "body-password-2600",
        "body-note-7777",
        EMAIL,
        STRONG_PASSWORD,
        CLIENT_IP,
    ]
    return response, secrets, user_id


async def test_an_unhandled_error_is_reported_with_the_request_id_and_nothing_personal(
    make_context: MakeContext, ingest: Ingest
) -> None:
    app = _boom_app(make_context(sentry_dsn=ingest.dsn, sentry_environment="staging"))
    client = sentry_sdk.get_client()
    assert client.is_active()
    assert client.dsn == ingest.dsn
    assert not client.should_send_default_pii()
    assert client.options["include_local_variables"] is False
    assert client.options["traces_sample_rate"] is None
    # A second app in the same process keeps the client it found.
    create_app(ctx=make_context(sentry_dsn=ingest.dsn))
    assert sentry_sdk.get_client() is client
    response, secrets, user_id = await _raise_in_a_route(app)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    sentry_sdk.flush(timeout=10)

    assert ingest.paths
    assert all(path.startswith("/api/1/envelope/") for path in ingest.paths)
    (event,) = ingest.events()
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "could not charge [email]"
    assert event["tags"]["request_id"] == "sentry-request-0042"
    assert event["tags"]["user_id"] == str(user_id)
    assert event["environment"] == "staging"
    assert event["contexts"]["route"] == {"method": "POST", "route": "/test/boom"}
    for absent in ("request", "user", "breadcrumbs", "extra"):
        assert absent not in event
    assert all("vars" not in frame for frame in exception["stacktrace"]["frames"])
    everything = b"".join(ingest.bodies).decode()
    for secret in secrets:
        assert secret not in everything, secret


async def test_without_a_dsn_nothing_is_initialised_or_sent(
    make_context: MakeContext, ingest: Ingest
) -> None:
    context = make_context()
    assert context.settings.sentry_dsn is None
    app = _boom_app(context)
    assert not sentry_sdk.get_client().is_active()
    response, _, _ = await _raise_in_a_route(app)
    assert response.status_code == 500
    sentry_sdk.flush(timeout=2)
    assert not sentry_sdk.get_client().is_active()
    assert ingest.bodies == []


async def _unreachable_customer(ctx: AppContext, payload: dict[str, Any]) -> None:
    raise RuntimeError(f"the mail server refused {payload['email']}")


async def test_a_dead_job_is_reported_once_without_its_payload(
    make_context: MakeContext, ingest: Ingest
) -> None:
    register_job("test.sentry_unreachable", _unreachable_customer)
    ctx = make_context(sentry_dsn=ingest.dsn, jobs_backoff_base_seconds=0, jobs_backoff_max_seconds=0)
    create_app(ctx=ctx)
    async with ctx.db.session() as session:
        row = enqueue(session, "test.sentry_unreachable", {"email": EMAIL}, max_attempts=3)
        await session.flush()
        job_id = row.id

    await ctx.jobs.run_until_idle()
    async with ctx.db.session() as session:
        job = await session.get(Job, job_id, populate_existing=True)
        assert job is not None
        assert (job.status, job.attempts) == (JobStatus.DEAD, 3)
    sentry_sdk.flush(timeout=10)

    # Three failed attempts, one report: the one that left the job dead.
    (event,) = ingest.events()
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "the mail server refused [email]"
    assert event["tags"]["job"] == "test.sentry_unreachable"
    assert event["tags"]["job_id"] == str(job_id)
    assert event["contexts"]["job"]["attempts"] == 3
    assert EMAIL not in b"".join(ingest.bodies).decode()


async def test_emporium_worker_reports_a_dead_job(
    committed_db: Database, settings: AppSettings, ingest: Ingest, tmp_path: Path
) -> None:
    # Registered here only: the worker has no handler for it, so the job is dead at its first run there.
    register_job(JOB_NOBODY_HANDLES, _unreachable_customer)
    async with committed_db.session() as session:
        row = enqueue(session, JOB_NOBODY_HANDLES, {"email": EMAIL})
        await session.flush()
        job_id = row.id
    env = process_env(settings, EMPORIUM_SENTRY_DSN=ingest.dsn, PYTHONPATH=SOURCE)
    assert await run_worker_once(env, tmp_path) >= 1

    # The worker flushes its reports as it exits.
    (event,) = [event for event in ingest.events() if event["tags"].get("job") == JOB_NOBODY_HANDLES]
    assert event["tags"]["job_id"] == str(job_id)
    assert event["exception"]["values"][0]["type"] == "PermanentJobError"
    assert event["environment"] == "test"
    assert EMAIL not in b"".join(ingest.bodies).decode()
