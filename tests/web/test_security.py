"""Signing in and out through pages, CSRF refusals and the redirect target after sign-in."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from emporium.accounts.models import AuthSession
from emporium.core.context import AppContext
from emporium.web.browser import CSRF_COOKIE, SESSION_COOKIE
from emporium.web.security import safe_next
from tests.conftest import Shopper, sign_up
from tests.web.conftest import csrf_token, token_of


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/account/orders?page=2", "/account/orders?page=2"),
        ("/", "/"),
        ("//evil.example", "/"),
        ("//evil.example/path", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/\tevil", "/"),
        ("/%0a", "/%0a"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_safe_next_accepts_only_local_paths(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected


async def _sessions(ctx: AppContext, user_email: str) -> int:
    from emporium.accounts.models import User

    async with ctx.db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AuthSession)
            .join(User, User.id == AuthSession.user_id)
            .where(User.email == user_email, AuthSession.revoked_at.is_(None))
        )
    return int(count or 0)


@pytest.fixture
async def customer(client: httpx.AsyncClient) -> Shopper:
    return await sign_up(client, "web-shopper@example.com", first_name="Grace")


async def _sign_in(client: httpx.AsyncClient, email: str, password: str, **extra: str) -> httpx.Response:
    token = await token_of(client)
    return await client.post(
        "/account/sign-in", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


async def test_sign_in_sets_a_session_cookie_and_redirects_to_a_local_next(
    client: httpx.AsyncClient, ctx: AppContext, customer: Shopper
) -> None:
    before = await _sessions(ctx, customer.email)
    response = await _sign_in(client, customer.email, customer.password, next="/account/orders")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/orders"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the test environment runs on plain http
    assert await _sessions(ctx, customer.email) == before + 1
    home = await client.get("/")
    assert "Grace" in home.text
    assert "Sign out" in home.text


async def test_sign_in_never_redirects_off_site(client: httpx.AsyncClient, customer: Shopper) -> None:
    response = await _sign_in(client, customer.email, customer.password, next="//evil.example/x")
    assert response.headers["location"] == "/"


async def test_a_wrong_password_shows_an_error_and_the_lockout_applies(
    client: httpx.AsyncClient, ctx: AppContext, customer: Shopper
) -> None:
    for _ in range(ctx.settings.login_max_failures):
        response = await _sign_in(client, customer.email, "not the password at all")
        assert response.status_code == 401
        assert "The e-mail address or the password is not correct." in response.text
        assert 'value="web-shopper@example.com"' in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    # Locked now: even the right password is refused, for the API as for the page.
    locked = await _sign_in(client, customer.email, customer.password)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    assert int(locked.headers["retry-after"]) > 0
    api = await client.post(
        "/api/v1/auth/login", json={"email": customer.email, "password": customer.password}
    )
    assert api.status_code == 429
    assert "Grace" not in (await client.get("/")).text


async def test_a_post_without_or_with_a_wrong_token_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, ctx: AppContext, customer: Shopper
) -> None:
    await token_of(client)  # the browser has its CSRF cookie
    before = await _sessions(ctx, customer.email)
    credentials = {"email": customer.email, "password": customer.password}
    for extra in ({}, {"csrf_token": "forged-token"}, {"csrf_token": ""}):
        response = await client.post("/account/sign-in", data={**credentials, **extra})
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert "did not come from this shop" in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    wrong_header = await client.post("/account/sign-in", data=credentials, headers={"X-CSRF-Token": "nope"})
    assert wrong_header.status_code == 403
    assert await _sessions(ctx, customer.email) == before

    # Signed in, a forged sign-out leaves the session alive.
    assert (await _sign_in(client, customer.email, customer.password)).status_code == 303
    signed_in = await _sessions(ctx, customer.email)
    assert (await client.post("/account/sign-out")).status_code == 403
    assert await _sessions(ctx, customer.email) == signed_in
    assert "Grace" in (await client.get("/")).text


async def test_a_token_from_another_browser_is_refused(
    client: httpx.AsyncClient, ctx: AppContext, customer: Shopper
) -> None:
    other_token = await token_of(client)
    client.cookies.delete(CSRF_COOKIE)
    await client.get("/")  # a new browser seed
    response = await client.post(
        "/account/sign-in",
        data={"email": customer.email, "password": customer.password, "csrf_token": other_token},
    )
    assert response.status_code == 403


async def test_the_token_also_travels_in_the_htmx_header(
    client: httpx.AsyncClient, customer: Shopper
) -> None:
    token = await token_of(client)
    response = await client.post(
        "/account/sign-in",
        data={"email": customer.email, "password": customer.password},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert response.status_code == 303


async def test_sign_out_revokes_the_server_side_session(
    client: httpx.AsyncClient, ctx: AppContext, customer: Shopper
) -> None:
    assert (await _sign_in(client, customer.email, customer.password)).status_code == 303
    stolen = client.cookies.get(SESSION_COOKIE)
    assert stolen
    signed_in = await _sessions(ctx, customer.email)
    confirm = await client.get("/account/sign-out")
    response = await client.post("/account/sign-out", data={"csrf_token": csrf_token(confirm.text)})
    assert response.status_code == 303
    assert await _sessions(ctx, customer.email) == signed_in - 1
    assert "Grace" not in (await client.get("/")).text
    # The cookie kept by someone else no longer signs anybody in, and is dropped.
    client.cookies.set(SESSION_COOKIE, stolen)
    replay = await client.get("/")
    assert "Grace" not in replay.text
    assert f'{SESSION_COOKIE}=""' in replay.headers.get("set-cookie", "")


async def test_a_tampered_session_cookie_signs_nobody_in(
    client: httpx.AsyncClient, customer: Shopper
) -> None:
    assert (await _sign_in(client, customer.email, customer.password)).status_code == 303
    value = client.cookies.get(SESSION_COOKIE) or ""
    user_id, session_id, signature = value.split(".")
    client.cookies.set(SESSION_COOKIE, f"{int(user_id) + 1}.{session_id}.{signature}")
    assert "Grace" not in (await client.get("/")).text
