"""Password reset and e-mail verification, end to end through the mail a real SMTP server received."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from emporium.accounts.models import OneTimeToken
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from tests.accounts.helpers import CustomApp, login, login_body, user_id_of, user_row
from tests.conftest import Shopper, sign_up
from tests.support import SmtpServer, bearer, data, error, token_from

FORGOT = "/api/v1/auth/forgot-password"
RESET = "/api/v1/auth/reset-password"
VERIFY = "/api/v1/auth/verify-email"
RESEND = "/api/v1/auth/resend-verification"
PROFILE = "/api/v1/users/profile"
NEW_PASSWORD = "a brand new passphrase"


async def _reset_token(client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer, email: str) -> str:
    smtp.sink.clear()
    assert (await client.post(FORGOT, json={"email": email})).status_code == 202
    await ctx.jobs.run_until_idle()
    [mail] = [m for m in smtp.sink.to(email) if m.subject == "Reset your password"]
    token = token_from(mail.text)
    assert f"http://shop.test/account/reset-password?token={token}" in mail.text
    assert token in mail.html
    return token


async def _verify_token(ctx: AppContext, smtp: SmtpServer, email: str) -> str:
    await ctx.jobs.run_until_idle()
    mails = [m for m in smtp.sink.to(email) if m.subject == "Confirm your e-mail address"]
    assert mails, [m.subject for m in smtp.sink.to(email)]
    return token_from(mails[-1].text)


async def test_reset_password_end_to_end(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer, shopper: Shopper
) -> None:
    other_device = await login(client, shopper.email, shopper.password)
    token = await _reset_token(client, ctx, smtp, "ADA@example.com")

    response = await client.post(RESET, json={"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True

    # The old password is gone, the new one works.
    error(await client.post("/api/v1/auth/login", json=login_body(shopper.email, shopper.password)), 401)
    fresh = await login(client, shopper.email, NEW_PASSWORD)
    data(await client.get(PROFILE, headers=bearer(fresh["access_token"])))

    # Every session opened before the reset is dead.
    for tokens in (shopper.tokens, other_device):
        denied = await client.get(PROFILE, headers=bearer(str(tokens["access_token"])))
        assert error(denied, 401)["code"] == "SESSION_ENDED"
        refused = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert error(refused, 401)["code"] == "SESSION_ENDED"

    # The mailbox owner proved the address, and is told the password changed.
    assert (await user_row(ctx, user_id_of(shopper))).email_verified_at is not None
    await ctx.jobs.run_until_idle()
    assert "Your password was changed" in [m.subject for m in smtp.sink.to(shopper.email)]


async def test_a_reset_token_works_once(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer, shopper: Shopper
) -> None:
    token = await _reset_token(client, ctx, smtp, shopper.email)
    data(await client.post(RESET, json={"token": token, "password": NEW_PASSWORD}))
    again = await client.post(RESET, json={"token": token, "password": "yet another passphrase"})
    assert error(again, 400)["code"] == "INVALID_TOKEN"
    await login(client, shopper.email, NEW_PASSWORD)


async def test_a_new_reset_request_voids_the_previous_link(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer, shopper: Shopper
) -> None:
    first = await _reset_token(client, ctx, smtp, shopper.email)
    second = await _reset_token(client, ctx, smtp, shopper.email)
    assert first != second
    error(await client.post(RESET, json={"token": first, "password": NEW_PASSWORD}), 400)
    data(await client.post(RESET, json={"token": second, "password": NEW_PASSWORD}))


async def test_an_expired_reset_token_is_refused(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer, shopper: Shopper
) -> None:
    token = await _reset_token(client, ctx, smtp, shopper.email)
    async with ctx.db.session() as session:
        await session.execute(
            update(OneTimeToken)
            .where(OneTimeToken.purpose == "reset_password")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    response = await client.post(RESET, json={"token": token, "password": NEW_PASSWORD})

    assert error(response, 400)["code"] == "INVALID_TOKEN"
    await login(client, shopper.email, shopper.password)  # nothing changed
    data(await client.get(PROFILE, headers=shopper.headers))


async def test_reset_token_lifetime_follows_the_setting(custom_app: CustomApp, smtp: SmtpServer) -> None:
    async with custom_app(reset_token_ttl_seconds=120) as (ctx, client):
        shopper = await sign_up(client, "ada@example.com")
        token = await _reset_token(client, ctx, smtp, shopper.email)
        [mail] = [m for m in smtp.sink.to(shopper.email) if m.subject == "Reset your password"]
        assert "for 2 minutes" in mail.text
        async with ctx.db.session() as session:
            record = (
                await session.execute(select(OneTimeToken).where(OneTimeToken.purpose == "reset_password"))
            ).scalar_one()
            lifetime = record.expires_at - record.created_at
        assert timedelta(seconds=115) < lifetime <= timedelta(seconds=121)
        data(await client.post(RESET, json={"token": token, "password": NEW_PASSWORD}))


async def test_reset_refuses_unknown_tokens_and_weak_passwords(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer, shopper: Shopper
) -> None:
    unknown = await client.post(RESET, json={"token": "x" * 43, "password": NEW_PASSWORD})
    assert error(unknown, 400)["code"] == "INVALID_TOKEN"

    token = await _reset_token(client, ctx, smtp, shopper.email)
    weak = error(await client.post(RESET, json={"token": token, "password": "password123"}), 422)
    assert [d["field"] for d in weak["details"]] == ["password"]
    # A refused password did not use the token up.
    data(await client.post(RESET, json={"token": token, "password": NEW_PASSWORD}))


async def test_a_verification_token_is_not_a_reset_token(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    await client.post("/api/v1/auth/register", json={"email": "eve@example.com", "password": NEW_PASSWORD})
    verify_token = await _verify_token(ctx, smtp, "eve@example.com")
    response = await client.post(RESET, json={"token": verify_token, "password": "an attacker passphrase"})
    assert error(response, 400)["code"] == "INVALID_TOKEN"


async def test_verify_email_end_to_end(client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer) -> None:
    shopper = await sign_up(client, "grace@example.com")
    assert data(await client.get(PROFILE, headers=shopper.headers))["email_verified"] is False
    token = await _verify_token(ctx, smtp, "grace@example.com")
    [mail] = [m for m in smtp.sink.to("grace@example.com") if m.subject == "Confirm your e-mail address"]
    assert f"http://shop.test/account/verify-email?token={token}" in mail.text

    verified = data(await client.post(VERIFY, json={"token": token}))

    assert verified["email"] == "grace@example.com"
    assert verified["email_verified"] is True
    assert data(await client.get(PROFILE, headers=shopper.headers))["email_verified"] is True
    # Single use.
    assert error(await client.post(VERIFY, json={"token": token}), 400)["code"] == "INVALID_TOKEN"


async def test_resend_verification_sends_a_new_link_and_voids_the_old_one(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    await sign_up(client, "grace@example.com")
    old = await _verify_token(ctx, smtp, "grace@example.com")

    response = await client.post(RESEND, json={"email": "Grace@Example.com"})
    assert response.status_code == 202
    new = await _verify_token(ctx, smtp, "grace@example.com")

    assert new != old
    assert error(await client.post(VERIFY, json={"token": old}), 400)["code"] == "INVALID_TOKEN"
    assert data(await client.post(VERIFY, json={"token": new}))["email_verified"] is True

    # Once verified, nothing more is sent, and the answer is the same as for an unknown address.
    smtp.sink.clear()
    verified = await client.post(RESEND, json={"email": "grace@example.com"})
    unknown = await client.post(RESEND, json={"email": "nobody@example.com"})
    assert verified.status_code == unknown.status_code == 202
    assert verified.json() == unknown.json()
    await ctx.jobs.run_until_idle()
    assert smtp.sink.to("grace@example.com") == []
    assert smtp.sink.to("nobody@example.com") == []


async def test_an_expired_verification_token_is_refused(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer
) -> None:
    shopper = await sign_up(client, "grace@example.com")
    token = await _verify_token(ctx, smtp, "grace@example.com")
    async with ctx.db.session() as session:
        await session.execute(update(OneTimeToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert error(await client.post(VERIFY, json={"token": token}), 400)["code"] == "INVALID_TOKEN"
    assert data(await client.get(PROFILE, headers=shopper.headers))["email_verified"] is False


async def test_verify_refuses_unknown_tokens(client: httpx.AsyncClient) -> None:
    assert error(await client.post(VERIFY, json={"token": "y" * 43}), 400)["code"] == "INVALID_TOKEN"
    assert error(await client.post(VERIFY, json={"token": "short"}), 422)["details"][0]["field"] == "token"
