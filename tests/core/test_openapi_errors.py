"""The API's schema says which errors each operation can answer, each with the error body the handlers write
(``{"success": false, "error": {...}}``), so a client generated from it knows a 404 from a 409."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from emporium.app import DOMAIN_ROUTERS

ERROR_REF = "#/components/schemas/ErrorEnvelope"
METHODS = ("get", "put", "post", "patch", "delete")
# A webhook's path names a gateway, not an object: an unknown one is refused (400), never "not found".
NO_OBJECT_IN_PATH = {("post", "/api/v1/payments/webhook/{gateway}")}

REPRESENTATIVE = {
    ("get", "/api/v1/products/{id_or_slug}"): {401, 404, 422},
    ("post", "/api/v1/products"): {401, 403, 409, 422},
    ("delete", "/api/v1/categories/{category_id}"): {401, 403, 404, 409, 422},
    ("post", "/api/v1/products/{product_id}/images"): {401, 403, 404, 409, 413, 422, 503},
    ("post", "/api/v1/auth/login"): {401, 422, 429},
    ("post", "/api/v1/cart/items"): {401, 404, 409, 422},
    ("post", "/api/v1/orders"): {401, 404, 409, 422, 429},
    ("get", "/api/v1/orders/{order_id}"): {401, 404, 422},
    ("put", "/api/v1/admin/orders/{order_id}"): {401, 403, 404, 409, 422},
    ("get", "/api/v1/orders/{order_id}/invoice.pdf"): {401, 404, 409, 422},
    ("post", "/api/v1/payments/refund"): {401, 403, 404, 409, 422},
    ("post", "/api/v1/inventory/pools/{pool_id}/adjustments"): {401, 403, 404, 409, 422},
    ("put", "/api/v1/admin/coupons/{coupon_id}"): {401, 403, 404, 409, 422},
    ("get", "/api/v1/users/addresses/{address_id}"): {401, 404, 422},
    ("post", "/api/v1/auth/reset-password"): {400, 422, 429},
    ("get", "/health/ready"): {503},
}


@pytest.fixture
async def schema(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _error_statuses(operation: dict[str, Any]) -> set[int]:
    """The statuses documented with the error body."""
    found = set()
    for status, answer in operation.get("responses", {}).items():
        body = answer.get("content", {}).get("application/json", {}).get("schema", {})
        if status.isdigit() and int(status) >= 400 and body.get("$ref") == ERROR_REF:
            found.add(int(status))
    return found


def _calls(dependant: Dependant) -> set[str]:
    names = set()
    for sub in dependant.dependencies:
        names.add(getattr(sub.call, "__qualname__", ""))
        names |= _calls(sub)
    return names


def test_the_error_body_is_in_the_schema(schema: dict[str, Any]) -> None:
    body = schema["components"]["schemas"]["ErrorEnvelope"]
    assert set(body["properties"]) == {"success", "error"}
    info = schema["components"]["schemas"]["ErrorInfo"]
    assert {"code", "message", "details"} <= set(info["properties"])


def test_representative_operations_list_their_errors(schema: dict[str, Any]) -> None:
    for (method, path), expected in REPRESENTATIVE.items():
        operation = schema["paths"][path][method]
        assert _error_statuses(operation) == expected, (method, path)


def test_every_operation_with_a_path_parameter_documents_404(schema: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path}"
        for method, path, operation in _operations(schema)
        if any(p["in"] == "path" for p in operation.get("parameters", []))
        and (method, path) not in NO_OBJECT_IN_PATH
        and 404 not in _error_statuses(operation)
    ]
    assert missing == []


def test_every_422_is_the_shops_error_body(schema: dict[str, Any]) -> None:
    """The handlers answer a refused payload with the error body, never FastAPI's own validation shape."""
    wrong = [
        f"{method.upper()} {path}"
        for method, path, operation in _operations(schema)
        if "422" in operation.get("responses", {}) and 422 not in _error_statuses(operation)
    ]
    assert wrong == []
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_operations_that_read_a_token_document_401(schema: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path}"
        for method, path, operation in _operations(schema)
        if operation.get("security") and 401 not in _error_statuses(operation)
    ]
    assert missing == []


def test_staff_operations_document_401_and_403(schema: dict[str, Any]) -> None:
    staff = [
        (method.lower(), route.path)
        for router in DOMAIN_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        if any(name.startswith("StaffWith.") for name in _calls(route.dependant))
        for method in route.methods
    ]
    assert len(staff) > 40
    for method, path in staff:
        assert {401, 403} <= _error_statuses(schema["paths"][path][method]), (method, path)
