"""Every failure answers with the error body, and every response carries a request id."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message

from emporium.app import create_app
from emporium.core.context import AppContext
from tests.conftest import MakeContext
from tests.support import asgi_client, error

TWO_MIB = 2 * 1024 * 1024
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


async def test_unknown_route_is_404_with_the_error_body(client: httpx.AsyncClient) -> None:
    err = error(await client.get("/api/v1/no-such-thing"), 404)
    assert err["code"] == "NOT_FOUND"
    assert err["message"]
    assert err["details"] == []


async def test_wrong_method_is_405_with_the_error_body(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/auth/register")
    err = error(response, 405)
    assert err["code"] == "METHOD_NOT_ALLOWED"
    assert "POST" in response.headers["allow"]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        content=b'{"email": "a@example.com", "password": ',
        headers={"Content-Type": "application/json"},
    )
    err = error(response, 400)
    assert err["code"] == "MALFORMED_JSON"


async def test_json_that_is_not_utf8_is_malformed_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        content=b'{"email": "\xff@example.com", "password": "correct horse battery staple"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert error(response, 400)["code"] == "MALFORMED_JSON"


async def test_a_body_that_is_not_an_object_is_422(client: httpx.AsyncClient) -> None:
    err = error(await client.post("/api/v1/auth/register", json=[1, 2]), 422)
    assert [d["field"] for d in err["details"]] == ["body"]


async def test_validation_errors_are_422_with_one_detail_per_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": "not-an-address", "password": "x", "first_name": ""}
    )
    err = error(response, 422)
    assert err["code"] == "VALIDATION_ERROR"
    fields = {d["field"] for d in err["details"]}
    assert fields == {"email", "password", "first_name"}
    assert all(d["message"] and not d["message"].startswith("Value error") for d in err["details"])
    assert not any(d["field"].startswith("body") for d in err["details"])


async def test_missing_body_is_422_naming_the_body(client: httpx.AsyncClient) -> None:
    err = error(await client.post("/api/v1/auth/register"), 422)
    assert err["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in err["details"]] == ["body"]


async def test_query_parameter_errors_name_the_parameter(ctx: AppContext) -> None:
    app = create_app(ctx=ctx)

    @app.get("/test/paged")
    async def paged(page: int) -> dict[str, int]:
        return {"page": page}

    async with asgi_client(app) as http:
        err = error(await http.get("/test/paged", params={"page": "two"}), 422)
    assert [d["field"] for d in err["details"]] == ["page"]


async def test_body_over_the_limit_is_413_when_announced(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", content=b"x" * TWO_MIB, headers={"Content-Type": "application/json"}
    )
    assert response.request.headers["content-length"] == str(TWO_MIB)
    assert error(response, 413)["code"] == "PAYLOAD_TOO_LARGE"
    assert response.headers["x-request-id"]


async def test_body_over_the_limit_is_413_when_streamed(client: httpx.AsyncClient) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(32):
            sent += 64 * 1024
            yield b"x" * (64 * 1024)

    response = await client.post(
        "/api/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert error(response, 413)["code"] == "PAYLOAD_TOO_LARGE"


async def test_streamed_body_under_the_limit_reaches_the_route(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "stream'
        yield b'@example.com", "password": "x"}'

    response = await client.post(
        "/api/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    # The route parsed the whole reassembled body: the error is about the password, not the JSON.
    err = error(response, 422)
    assert [d["field"] for d in err["details"]] == ["password"]


async def test_content_length_that_is_not_a_number_is_400(ctx: AppContext) -> None:
    app = create_app(ctx=ctx)
    messages = await _raw_asgi(
        app, "POST", "/api/v1/auth/register", [(b"content-length", b"12abc")], body=b"{}"
    )
    assert messages[0]["status"] == 400


def _boom_app(context: AppContext) -> FastAPI:
    app = create_app(ctx=context)

    @app.get("/test/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    return app


@pytest.mark.parametrize("debug", [False, True])
async def test_unhandled_exception_is_500_without_a_stack_trace(
    make_context: MakeContext, debug: bool
) -> None:
    async with asgi_client(_boom_app(make_context(debug=debug))) as http:
        response = await http.get("/test/boom", headers={"X-Request-ID": "trace-me-12345"})
    err = error(response, 500)
    assert err["code"] == "INTERNAL_ERROR"
    assert response.headers["content-type"].startswith("application/json")
    for leak in ("Traceback", "hunter2", "RuntimeError", 'File "'):
        assert leak not in response.text
    assert response.headers["x-request-id"] == "trace-me-12345"


async def test_well_formed_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "req-2026.11:abc_DEF-1"})
    assert response.headers["x-request-id"] == "req-2026.11:abc_DEF-1"


@pytest.mark.parametrize(
    "incoming",
    ["has spaces in it", "x" * 300, "short", "<script>alert(1)</script>", "café-1234567"],
)
async def test_malformed_request_id_is_replaced(client: httpx.AsyncClient, incoming: str) -> None:
    response = await client.get("/health", headers={b"X-Request-ID": incoming.encode("utf-8")})
    assert response.headers["x-request-id"] != incoming
    assert GENERATED_ID.match(response.headers["x-request-id"])


async def test_missing_request_id_is_generated_and_unique(client: httpx.AsyncClient) -> None:
    first = (await client.get("/health")).headers["x-request-id"]
    second = (await client.get("/health")).headers["x-request-id"]
    assert GENERATED_ID.match(first)
    assert GENERATED_ID.match(second)
    assert first != second


async def test_request_id_with_a_trailing_newline_is_replaced(ctx: AppContext) -> None:
    # An HTTP client cannot send it, but a proxy speaking ASGI could: the id must be refused whole.
    app = create_app(ctx=ctx)
    messages = await _raw_asgi(app, "GET", "/health", [(b"x-request-id", b"abcdefgh1234\n")])
    headers = dict(messages[0]["headers"])
    assert GENERATED_ID.match(headers[b"x-request-id"].decode())


async def test_error_responses_carry_the_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here", headers={"X-Request-ID": "abcdef-123456"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "abcdef-123456"


async def _raw_asgi(
    app: FastAPI, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> list[dict[str, Any]]:
    """Call the app over plain ASGI, for requests an HTTP client refuses to build."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(dict(message))

    await app(scope, receive, send)
    return sent
