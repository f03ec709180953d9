"""Log lines name the user a request acts for (its id, never its e-mail): an API token's customer, a signed-in
storefront browser, a staff member in the back office; an anonymous request names nobody."""

from __future__ import annotations

import json
from typing import Any

import pytest

from emporium.app import create_app
from emporium.core.context import AppContext
from tests.admin.conftest import new_staff_client
from tests.conftest import MakeContext, sign_up
from tests.support import asgi_client, data
from tests.web.test_account_pages import web_sign_in


def request_lines(output: str, path: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "request" and line.get("path") == path]


@pytest.fixture
def logged(make_context: MakeContext) -> AppContext:
    return make_context(log_level="INFO", log_json=True)


async def test_the_api_and_storefront_lines_name_the_customer_and_anonymous_ones_nobody(
    logged: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    async with asgi_client(create_app(ctx=logged)) as http:
        shopper = await sign_up(http, "logs@example.com")
        await web_sign_in(http, "logs@example.com")
        capsys.readouterr()
        user_id = data(await http.get("/api/v1/users/profile", headers=shopper.headers))["id"]
        assert (await http.get("/account")).status_code == 200
        http.cookies.clear()
        assert (await http.get("/api/v1/products")).status_code == 200
    output = capsys.readouterr().out

    (api,) = request_lines(output, "/api/v1/users/profile")
    (page,) = request_lines(output, "/account")
    (anonymous,) = request_lines(output, "/api/v1/products")
    assert api["user_id"] == page["user_id"] == user_id
    assert "user_id" not in anonymous
    assert "logs@example.com" not in output


async def test_the_back_office_lines_name_the_staff_member(
    logged: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    staff = await new_staff_client(logged, "support")
    try:
        capsys.readouterr()
        assert (await staff.get("/admin/orders")).status_code == 200
    finally:
        await staff.aclose()
    (line,) = request_lines(capsys.readouterr().out, "/admin/orders")
    assert line["user_id"] == staff.user_id
