"""One error base for the whole shop, and the handlers that turn every failure into the error body.

Body: ``{"success": false, "error": {"code", "message", "details": [{"field", "message"}]}}``.
No stack trace ever leaves the server. Requests the storefront answers with pages get an HTML error page
instead, from the ``ErrorPages`` given to ``install_error_handlers`` (status and message stay the same).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any, Protocol

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from emporium.core.messages import field_name, human_message
from emporium.core.responses import ErrorEnvelope

log = structlog.get_logger(__name__)


class EmporiumError(Exception):
    """A refusal the client can act on. Subclasses fix the HTTP status; each raise names a code."""

    status_code: int = 400
    code: str = "BAD_REQUEST"
    message: str = "The request cannot be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.details = list(details or [])
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(EmporiumError):
    status_code = 400
    code = "BAD_REQUEST"


class Unauthorized(EmporiumError):
    status_code = 401
    code = "UNAUTHORIZED"
    message = "Authentication is required."


class Forbidden(EmporiumError):
    status_code = 403
    code = "FORBIDDEN"
    message = "You do not have permission to do this."


class NotFound(EmporiumError):
    status_code = 404
    code = "NOT_FOUND"
    message = "Not found."


class Conflict(EmporiumError):
    status_code = 409
    code = "CONFLICT"
    message = "The request conflicts with the current state."


class PayloadTooLarge(EmporiumError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "The request body is too large."


class ValidationFailed(EmporiumError):
    status_code = 422
    code = "VALIDATION_ERROR"
    message = "The request is not valid."


class RateLimited(EmporiumError):
    status_code = 429
    code = "RATE_LIMITED"
    message = "Too many requests; try again later."

    def __init__(self, retry_after: int, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = retry_after


class ServiceUnavailable(EmporiumError):
    status_code = 503
    code = "SERVICE_UNAVAILABLE"
    message = "The service is not ready."


# What each error status means to a client, for the API's schema.
_MEANINGS = {
    400: "The request was refused as sent; the code says why.",
    401: "Not signed in, or the token is not valid any more.",
    403: "Signed in, without the permission this needs.",
    404: "What the request names does not exist, or is not the caller's.",
    409: "Refused by the current state of things; the code names the rule.",
    413: "The request body is too large.",
    422: "The request is not valid; the details name each refused field.",
    429: "Too many requests; Retry-After says when to try again.",
    503: "A service this needs is not available; try again later.",
}


def errors_doc(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=``: the error statuses it can answer, each with the error body's schema."""
    return {status: {"model": ErrorEnvelope, "description": _MEANINGS[status]} for status in statuses}


def error_body(code: str, message: str, details: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message, "details": list(details)}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    501: "NOT_IMPLEMENTED",
    503: "SERVICE_UNAVAILABLE",
}


def _field_path(loc: Sequence[str | int]) -> str:
    # "body" / "query" / "path" is where, not what: drop it so clients see the field name.
    parts = (
        [str(p) for p in loc[1:]]
        if loc and loc[0] in {"body", "query", "path", "header", "cookie"}
        else [str(p) for p in loc]
    )
    return ".".join(parts) or str(loc[0] if loc else "")


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Each refused field with the sentence the storefront would show for it, never Pydantic's text."""
    details = []
    for err in errors:
        loc = err.get("loc", ())
        message = human_message(field_name(loc[1:] if len(loc) > 1 else loc), err)
        details.append({"field": _field_path(loc), "message": message})
    return details


async def _emporium_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EmporiumError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers or None)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return error_response(400, "MALFORMED_JSON", "The request body is not valid JSON.")
    # A shop validator may name a stable code of its own (the card-number guard: CARD_DATA_REFUSED).
    own = next((err for err in errors if (err.get("ctx") or {}).get("code")), None)
    if own is not None:
        return error_response(422, str(own["ctx"]["code"]), str(own["msg"]), validation_details(errors))
    return error_response(422, "VALIDATION_ERROR", "The request is not valid.", validation_details(errors))


# What FastAPI raises when a body cannot even be decoded (e.g. JSON that is not UTF-8).
_UNPARSABLE_BODY = "There was an error parsing the body"


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY and _is_json(request):
        return error_response(400, "MALFORMED_JSON", "The request body is not valid JSON.")
    status = exc.status_code
    code = _STATUS_CODES.get(status, "ERROR" if status < 500 else "INTERNAL_ERROR")
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    message = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else f"{phrase}."
    return error_response(status, code, message, headers=getattr(exc, "headers", None))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
    return error_response(500, "INTERNAL_ERROR", "Something went wrong on our side.")


class ErrorPages(Protocol):
    """Renders errors of page requests as HTML (the storefront's, see web/errors.py)."""

    def handles(self, request: Request) -> bool: ...

    async def render(
        self, request: Request, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response: ...


Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]
# Headers of an error answer that still mean something on an HTML page.
_PAGE_HEADERS = ("retry-after", "allow")


def _or_page(
    handler: Handler, pages: ErrorPages | None
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        response = await handler(request, exc)
        if pages is None or not pages.handles(request):
            return response
        # The JSON answer decides status and message, so a page and the API never disagree about an error.
        message = str(json.loads(bytes(response.body))["error"]["message"])
        headers = {k: v for k, v in response.headers.items() if k.lower() in _PAGE_HEADERS}
        return await pages.render(request, response.status_code, message, headers)

    return handle


def install_error_handlers(app: FastAPI, pages: ErrorPages | None = None) -> None:
    app.add_exception_handler(EmporiumError, _or_page(_emporium_error, pages))
    app.add_exception_handler(RequestValidationError, _or_page(_validation_error, pages))
    app.add_exception_handler(StarletteHTTPException, _or_page(_http_error, pages))
    app.add_exception_handler(Exception, _or_page(_unexpected_error, pages))
