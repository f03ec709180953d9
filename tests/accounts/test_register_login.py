"""Registration and sign-in, and that neither tells a stranger which addresses are registered."""

from __future__ import annotations

import asyncio

import httpx

from emporium.core.context import AppContext
from tests.accounts.helpers import CustomApp, login, login_body, user_row, users_with_email
from tests.support import STRONG_PASSWORD, SmtpServer, bearer, data, error

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
FORGOT = "/api/v1/auth/forgot-password"


async def test_register_creates_a_customer_and_mails_welcome_and_verification(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    response = await client.post(
        REGISTER,
        json={
            "email": "Grace@Example.com",
            "password": STRONG_PASSWORD,
            "first_name": "Grace",
            "last_name": "Hopper",
            "phone": "+1 202 555 0100",
        },
    )
    assert data(response, 201) == {"email": "grace@example.com"}

    [user] = await users_with_email(ctx, "grace@example.com")
    assert (user.first_name, user.last_name, user.phone) == ("Grace", "Hopper", "+12025550100")
    assert user.role == "customer"
    assert user.is_active is True
    assert user.email_verified_at is None
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert STRONG_PASSWORD not in user.password_hash

    assert smtp.sink.to("grace@example.com") == []  # mail leaves only when the jobs run
    await ctx.jobs.run_until_idle()
    subjects = sorted(m.subject for m in smtp.sink.to("grace@example.com"))
    assert subjects == ["Confirm your e-mail address", "Welcome to Emporium"]


async def test_email_is_unique_case_insensitively_and_the_answer_reveals_nothing(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    fresh = await client.post(REGISTER, json={"email": "ada@x.com", "password": STRONG_PASSWORD})
    await ctx.jobs.run_until_idle()
    smtp.sink.clear()

    again = await client.post(
        REGISTER, json={"email": "ADA@x.com", "password": "another fine passphrase", "first_name": "Eve"}
    )

    assert again.status_code == fresh.status_code == 201
    assert again.json() == fresh.json()
    [user] = await users_with_email(ctx, "ada@x.com")
    assert user.first_name is None  # the second attempt changed nothing
    assert await users_with_email(ctx, "ADA@x.com") == []

    await ctx.jobs.run_until_idle()
    [notice] = smtp.sink.to("ada@x.com")
    assert notice.subject == "Someone tried to register with your e-mail address"
    assert "http://shop.test/account/forgot-password" in notice.text
    # The original password still works; the one sent by the second attempt does not.
    await login(client, "ada@x.com", STRONG_PASSWORD)
    error(await client.post(LOGIN, json=login_body("ada@x.com", "another fine passphrase")), 401)


async def test_register_answers_alike_for_new_and_taken_addresses(client: httpx.AsyncClient) -> None:
    await client.post(REGISTER, json={"email": "taken@example.com", "password": STRONG_PASSWORD})
    taken = await client.post(REGISTER, json={"email": "taken@example.com", "password": STRONG_PASSWORD})
    new = await client.post(REGISTER, json={"email": "new@example.com", "password": STRONG_PASSWORD})
    assert taken.status_code == new.status_code == 201
    assert taken.json()["message"] == new.json()["message"]
    assert taken.json()["data"] == {"email": "taken@example.com"}
    assert new.json()["data"] == {"email": "new@example.com"}


async def test_login_returns_access_and_refresh_tokens_and_the_user(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await client.post(REGISTER, json={"email": "lin@example.com", "password": STRONG_PASSWORD})
    tokens = data(await client.post(LOGIN, json=login_body("  LIN@example.COM ", STRONG_PASSWORD)))

    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == ctx.settings.access_token_ttl_seconds
    assert tokens["access_token"] != tokens["refresh_token"]
    user = tokens["user"]
    assert user["email"] == "lin@example.com"
    assert user["role"] == "customer"
    assert user["email_verified"] is False
    assert "password_hash" not in user
    assert (await user_row(ctx, user["id"])).last_login_at is not None

    profile = data(await client.get("/api/v1/users/profile", headers=bearer(tokens["access_token"])))
    assert profile["id"] == user["id"]


async def test_login_answers_alike_for_unknown_address_and_wrong_password(client: httpx.AsyncClient) -> None:
    await client.post(REGISTER, json={"email": "known@example.com", "password": STRONG_PASSWORD})

    wrong_password = await client.post(LOGIN, json=login_body("known@example.com", "not the password"))
    unknown = await client.post(LOGIN, json=login_body("nobody@example.com", "not the password"))

    assert wrong_password.status_code == unknown.status_code == 401
    assert wrong_password.json() == unknown.json()
    assert error(unknown, 401)["code"] == "INVALID_CREDENTIALS"


async def test_forgot_password_answers_alike_for_known_and_unknown_addresses(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    await client.post(REGISTER, json={"email": "known@example.com", "password": STRONG_PASSWORD})
    await ctx.jobs.run_until_idle()
    smtp.sink.clear()

    known = await client.post(FORGOT, json={"email": "known@example.com"})
    unknown = await client.post(FORGOT, json={"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    await ctx.jobs.run_until_idle()
    assert [m.subject for m in smtp.sink.to("known@example.com")] == ["Reset your password"]
    assert smtp.sink.to("nobody@example.com") == []


async def test_mass_assignment_in_register_is_ignored(client: httpx.AsyncClient, ctx: AppContext) -> None:
    response = await client.post(
        REGISTER,
        json={
            "email": "mallory@example.com",
            "password": STRONG_PASSWORD,
            "role": "super_admin",
            "is_active": False,
            "email_verified": True,
            "email_verified_at": "2020-01-01T00:00:00Z",
            "id": 1,
            "permissions": ["products:write"],
        },
    )
    data(response, 201)
    [user] = await users_with_email(ctx, "mallory@example.com")
    assert user.role == "customer"
    assert user.is_active is True
    assert user.email_verified_at is None

    tokens = await login(client, "mallory@example.com", STRONG_PASSWORD)
    assert tokens["user"]["role"] == "customer"
    assert tokens["user"]["email_verified"] is False
    assert tokens["user"]["permissions"] == sorted(tokens["user"]["permissions"])
    assert "products:write" not in tokens["user"]["permissions"]


async def test_register_validates_its_fields(client: httpx.AsyncClient) -> None:
    err = error(
        await client.post(
            REGISTER,
            json={
                "email": "not-an-address",
                "password": STRONG_PASSWORD,
                "phone": "call me",
                "first_name": "",
            },
        ),
        422,
    )
    assert err["code"] == "VALIDATION_ERROR"
    assert {d["field"] for d in err["details"]} == {"email", "phone", "first_name"}


async def test_concurrent_registrations_of_one_address_create_one_user(committed_app: CustomApp) -> None:
    """A double-clicked form: every request answers like a fresh registration, one user exists."""
    async with committed_app() as (context, http):
        body = {"email": "twice@example.com", "password": STRONG_PASSWORD}
        responses = await asyncio.gather(*(http.post(REGISTER, json=body) for _ in range(4)))
        for response in responses:
            assert data(response, 201) == {"email": "twice@example.com"}
        assert len(await users_with_email(context, "twice@example.com")) == 1
        await login(http, "twice@example.com", STRONG_PASSWORD)
