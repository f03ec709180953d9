"""GDPR: the export of everything held about a customer, and the erasure of their personal data."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select

from emporium.accounts.models import Address, AuthSession, OneTimeToken
from emporium.core.context import AppContext
from emporium.core.jobs.models import Job
from emporium.core.notify import PLAN_JOB
from emporium.notifications.models import Notification, NotificationChoice
from tests.accounts.helpers import login, login_body, user_id_of, user_row, users_with_email
from tests.conftest import Shopper, sign_up
from tests.support import SmtpServer, bearer, data, error

EXPORT = "/api/v1/users/export"
ACCOUNT = "/api/v1/users/account"
ADDRESSES = "/api/v1/users/addresses"
HOME = {
    "full_name": "Ada Lovelace",
    "phone": "+44 20 7946 0000",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


async def test_export_holds_profile_addresses_preferences_and_sessions(
    client: httpx.AsyncClient, shopper: Shopper
) -> None:
    await client.put("/api/v1/users/profile", json={"phone": "+44 20 7946 0001"}, headers=shopper.headers)
    data(await client.post(ADDRESSES, json=HOME, headers=shopper.headers), 201)
    data(await client.post(ADDRESSES, json={**HOME, "city": "Oxford"}, headers=shopper.headers), 201)
    await client.put(
        "/api/v1/users/preferences/notifications",
        json={"choices": [{"category": "marketing", "channel": "email", "enabled": True}]},
        headers=shopper.headers,
    )
    await client.post(
        "/api/v1/auth/login",
        json=login_body(shopper.email, shopper.password),
        headers={"User-Agent": "PhoneApp/1.0"},
    )

    response = await client.get(EXPORT, headers=shopper.headers)

    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="emporium-export-{user_id_of(shopper)}.json"'
    )
    export = data(response)
    account = export["account"]
    assert account["id"] == user_id_of(shopper)
    assert (account["email"], account["first_name"], account["last_name"], account["phone"]) == (
        "ada@example.com",
        "Ada",
        "Lovelace",
        "+442079460001",  # stored in E.164
    )
    assert "password_hash" not in account
    assert "password" not in json.dumps(export).lower()
    assert sorted(a["city"] for a in export["addresses"]) == ["London", "Oxford"]
    assert export["addresses"][0]["is_default"] is True
    [consent] = export["notifications"]["preferences"]
    assert (consent["category"], consent["channel"], consent["enabled"]) == ("marketing", "email", True)
    assert (consent["consent_source"], consent["consent_at"] is not None) == ("api", True)
    assert len(export["sessions"]) == 2
    assert "PhoneApp/1.0" in [s["user_agent"] for s in export["sessions"]]
    assert all(s["ip_address"] for s in export["sessions"])
    assert export["exported_at"]


async def test_export_holds_nothing_of_other_customers(client: httpx.AsyncClient, shopper: Shopper) -> None:
    bob = await sign_up(client, "bob@example.com", first_name="Bob")
    data(await client.post(ADDRESSES, json={**HOME, "full_name": "Bob Builder"}, headers=bob.headers), 201)
    export = data(await client.get(EXPORT, headers=shopper.headers))
    dumped = json.dumps(export)
    assert "bob" not in dumped.lower()
    assert export["addresses"] == []
    assert len(export["sessions"]) == 1


async def test_delete_account_erases_personal_data_and_keeps_the_row(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    user_id = user_id_of(shopper)
    other_device = await login(client, shopper.email, shopper.password)
    data(await client.post(ADDRESSES, json=HOME, headers=shopper.headers), 201)
    await client.put("/api/v1/users/profile", json={"phone": "+44 20 7946 0001"}, headers=shopper.headers)
    await client.post("/api/v1/auth/forgot-password", json={"email": shopper.email})
    await ctx.jobs.run_until_idle()

    response = await client.request(
        "DELETE", ACCOUNT, json={"password": shopper.password}, headers=shopper.headers
    )
    assert data(response) is None

    row = await user_row(ctx, user_id)
    assert row.erased_at is not None
    assert row.email != "ada@example.com"
    assert "ada" not in row.email
    assert (row.first_name, row.last_name, row.phone, row.password_hash) == (None, None, None, None)
    assert row.is_active is False
    assert await users_with_email(ctx, "ada@example.com") == []
    async with ctx.db.session() as session:
        for model in (Address, OneTimeToken, NotificationChoice, Notification):
            left = await session.scalar(
                select(func.count()).select_from(model).where(model.user_id == user_id)
            )
            assert left == 0, model
        live = await session.scalar(
            select(func.count())
            .select_from(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        )
        assert live == 0

    # Signed out everywhere.
    for tokens in (shopper.tokens, other_device):
        assert error(
            await client.get("/api/v1/users/profile", headers=bearer(str(tokens["access_token"]))), 401
        )
        refused = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        error(refused, 401)
    # The old e-mail and password open nothing.
    failed = await client.post("/api/v1/auth/login", json=login_body("ada@example.com", shopper.password))
    assert error(failed, 401)["code"] == "INVALID_CREDENTIALS"
    failed = await client.post("/api/v1/auth/login", json=login_body(row.email, shopper.password))
    assert error(failed, 401)["code"] == "INVALID_CREDENTIALS"


async def test_the_address_is_free_again_after_erasure(client: httpx.AsyncClient, shopper: Shopper) -> None:
    data(
        await client.request("DELETE", ACCOUNT, json={"password": shopper.password}, headers=shopper.headers)
    )
    again = await sign_up(client, "ada@example.com")
    assert user_id_of(again) != user_id_of(shopper)
    profile = data(await client.get("/api/v1/users/profile", headers=again.headers))
    assert profile["first_name"] is None


async def test_delete_account_needs_the_password(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    wrong = await client.request(
        "DELETE", ACCOUNT, json={"password": "not my password"}, headers=shopper.headers
    )
    err = error(wrong, 422)
    assert err["code"] == "INVALID_PASSWORD"
    assert [d["field"] for d in err["details"]] == ["password"]
    missing = error(await client.request("DELETE", ACCOUNT, headers=shopper.headers), 422)
    assert missing["code"] == "VALIDATION_ERROR"

    row = await user_row(ctx, user_id_of(shopper))
    assert row.erased_at is None
    assert row.email == "ada@example.com"
    data(await client.get("/api/v1/users/profile", headers=shopper.headers))


async def test_delete_account_needs_a_session(client: httpx.AsyncClient) -> None:
    error(await client.request("DELETE", ACCOUNT, json={"password": "whatever it is"}), 401)
    error(await client.get(EXPORT), 401)


async def test_erasure_forgets_the_address_in_mail_jobs_and_sends_nothing_queued(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer, shopper: Shopper
) -> None:
    await ctx.jobs.run_until_idle()  # the welcome and verification mails go out
    await client.post("/api/v1/auth/forgot-password", json={"email": shopper.email})  # stays queued
    smtp.sink.clear()

    response = await client.request(
        "DELETE", ACCOUNT, json={"password": shopper.password}, headers=shopper.headers
    )
    assert data(response) is None
    await ctx.jobs.run_until_idle()

    assert smtp.sink.to(shopper.email) == []
    async with ctx.db.session() as session:
        jobs = (await session.execute(select(Job).where(Job.name == PLAN_JOB))).scalars().all()
        told = (await session.execute(select(Notification))).scalars().all()
    assert jobs, "the mails of this test are planning jobs"
    assert told == []  # what was told to the customer is gone with them
    assert all(shopper.email not in json.dumps(job.payload) for job in jobs)
    assert {job.status for job in jobs} == {"done", "dead"}
    assert any(job.status == "dead" and job.last_error == "recipient erased their account" for job in jobs)
