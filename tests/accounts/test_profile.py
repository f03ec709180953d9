"""The signed-in customer's profile, password and notification preferences."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emporium.core.context import AppContext
from tests.accounts.helpers import login, login_body, user_id_of, user_row
from tests.conftest import Shopper
from tests.support import SmtpServer, bearer, count_statements, data, error, token_from

PROFILE = "/api/v1/users/profile"
PASSWORD = "/api/v1/users/password"
PREFERENCES = "/api/v1/users/preferences/notifications"


async def test_get_profile(client: httpx.AsyncClient, shopper: Shopper) -> None:
    profile = data(await client.get(PROFILE, headers=shopper.headers))
    assert profile == {
        "id": user_id_of(shopper),
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": None,
        "role": "customer",
        "email_verified": False,
        "created_at": profile["created_at"],
        "permissions": [],
    }
    assert profile["created_at"].endswith("Z") or profile["created_at"].endswith("+00:00")


async def test_update_profile_changes_only_the_fields_sent(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    updated = data(
        await client.put(
            PROFILE, json={"first_name": "  Augusta ", "phone": "+44 20 7946 0000"}, headers=shopper.headers
        )
    )
    assert (updated["first_name"], updated["last_name"], updated["phone"]) == (
        "Augusta",
        "Lovelace",
        "+442079460000",  # stored in E.164
    )
    assert data(await client.get(PROFILE, headers=shopper.headers)) == updated
    row = await user_row(ctx, user_id_of(shopper))
    assert (row.first_name, row.last_name, row.phone) == ("Augusta", "Lovelace", "+442079460000")

    # An explicit null clears an optional field.
    cleared = data(await client.put(PROFILE, json={"phone": None}, headers=shopper.headers))
    assert cleared["phone"] is None
    assert cleared["first_name"] == "Augusta"


async def test_mass_assignment_in_profile_is_ignored(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    response = await client.put(
        PROFILE,
        json={
            "first_name": "Ada",
            "role": "super_admin",
            "is_active": False,
            "email_verified": True,
            "email_verified_at": "2020-01-01T00:00:00Z",
            "email": "other@example.com",
            "id": 999,
            "password_hash": "x",
            "erased_at": "2020-01-01T00:00:00Z",
        },
        headers=shopper.headers,
    )
    profile = data(response)
    assert profile["role"] == "customer"
    assert profile["email_verified"] is False
    assert profile["email"] == "ada@example.com"
    assert profile["id"] == user_id_of(shopper)
    row = await user_row(ctx, user_id_of(shopper))
    assert (row.role, row.is_active, row.email_verified_at, row.email, row.erased_at) == (
        "customer",
        True,
        None,
        "ada@example.com",
        None,
    )
    assert row.password_hash is not None
    assert row.password_hash.startswith("$argon2id$")
    await login(client, shopper.email, shopper.password)


async def test_update_profile_validates(client: httpx.AsyncClient, shopper: Shopper) -> None:
    err = error(
        await client.put(
            PROFILE,
            json={"first_name": "", "phone": "not a phone", "last_name": "x" * 101},
            headers=shopper.headers,
        ),
        422,
    )
    assert {d["field"] for d in err["details"]} == {"first_name", "phone", "last_name"}


async def test_profile_uses_at_most_two_statements(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    with count_statements(ctx.db.engine) as statements:
        data(await client.get(PROFILE, headers=shopper.headers))
    assert 1 <= len(statements) <= 2, statements


async def test_change_password_ends_every_other_session(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer, shopper: Shopper
) -> None:
    other_device = await login(client, shopper.email, shopper.password)
    response = await client.put(
        PASSWORD,
        json={"current_password": shopper.password, "new_password": "a brand new passphrase"},
        headers=shopper.headers,
    )
    assert data(response) is None

    denied = await client.get(PROFILE, headers=bearer(other_device["access_token"]))
    assert error(denied, 401)["code"] == "SESSION_ENDED"
    refused = await client.post("/api/v1/auth/refresh", json={"refresh_token": other_device["refresh_token"]})
    assert error(refused, 401)["code"] == "SESSION_ENDED"
    # The session that changed the password goes on.
    data(await client.get(PROFILE, headers=shopper.headers))
    data(await client.post("/api/v1/auth/refresh", json={"refresh_token": shopper.tokens["refresh_token"]}))

    error(await client.post("/api/v1/auth/login", json=login_body(shopper.email, shopper.password)), 401)
    await login(client, shopper.email, "a brand new passphrase")
    await ctx.jobs.run_until_idle()
    assert "Your password was changed" in [m.subject for m in smtp.sink.to(shopper.email)]


async def test_change_password_voids_pending_reset_links(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer, shopper: Shopper
) -> None:
    await client.post("/api/v1/auth/forgot-password", json={"email": shopper.email})
    await ctx.jobs.run_until_idle()
    [mail] = [m for m in smtp.sink.to(shopper.email) if m.subject == "Reset your password"]
    data(
        await client.put(
            PASSWORD,
            json={"current_password": shopper.password, "new_password": "a brand new passphrase"},
            headers=shopper.headers,
        )
    )
    stale = await client.post(
        "/api/v1/auth/reset-password",
        json={"token": token_from(mail.text), "password": "an attacker passphrase"},
    )
    assert error(stale, 400)["code"] == "INVALID_TOKEN"
    await login(client, shopper.email, "a brand new passphrase")


async def test_change_password_needs_the_current_password(
    client: httpx.AsyncClient, shopper: Shopper
) -> None:
    other_device = await login(client, shopper.email, shopper.password)
    response = await client.put(
        PASSWORD,
        json={"current_password": "not my password", "new_password": "a brand new passphrase"},
        headers=shopper.headers,
    )
    err = error(response, 422)
    assert err["code"] == "INVALID_PASSWORD"
    assert err["details"] == [{"field": "current_password", "message": "The password is not correct."}]
    # Nothing changed: the old password works and no session was ended.
    await login(client, shopper.email, shopper.password)
    data(await client.get(PROFILE, headers=bearer(other_device["access_token"])))

    missing = error(
        await client.put(PASSWORD, json={"new_password": "a brand new passphrase"}, headers=shopper.headers),
        422,
    )
    assert [d["field"] for d in missing["details"]] == ["current_password"]


async def test_change_password_needs_a_session(client: httpx.AsyncClient) -> None:
    response = await client.put(
        PASSWORD, json={"current_password": "whatever it is", "new_password": "a brand new passphrase"}
    )
    error(response, 401)


def _choices(prefs: dict[str, Any]) -> dict[tuple[str, str], bool]:
    return {(c["category"], s["channel"]): s["enabled"] for c in prefs["categories"] for s in c["channels"]}


async def test_notification_preferences(client: httpx.AsyncClient, shopper: Shopper) -> None:
    defaults = data(await client.get(PREFERENCES, headers=shopper.headers))
    # Every category on every channel the shop sends; text messages and offers stay off until chosen.
    assert defaults["channels"] == ["email", "sms", "whatsapp", "push"]
    choices = _choices(defaults)
    assert (choices["orders", "email"], choices["orders", "sms"], choices["marketing", "email"]) == (
        True,
        False,
        False,
    )
    assert (defaults["quiet_hours"], defaults["default_quiet_hours"]) == (None, "21:00-08:00")

    body = {
        "choices": [
            {"category": "orders", "channel": "email", "enabled": False},
            {"category": "orders", "channel": "sms", "enabled": True},
            {"category": "marketing", "channel": "email", "enabled": True},
            # E-mail of account messages cannot be switched off: asked, nothing changes.
            {"category": "account", "channel": "email", "enabled": False},
        ],
        "quiet_hours": "22:30-07:00",
        "time_zone": "Europe/Paris",
        "bogus": True,
    }
    changed = data(await client.put(PREFERENCES, json=body, headers=shopper.headers))
    choices = _choices(changed)
    assert (choices["orders", "email"], choices["orders", "sms"], choices["account", "email"]) == (
        False,
        True,
        True,
    )
    marketing = next(c for c in changed["categories"] if c["category"] == "marketing")
    assert marketing["consent_source"] == "api"
    assert marketing["consent_at"] is not None
    assert (changed["quiet_hours"], changed["time_zone"]) == ("22:30-07:00", "Europe/Paris")
    assert data(await client.get(PREFERENCES, headers=shopper.headers)) == changed

    # Another customer's preferences are their own.
    data(
        await client.post(
            "/api/v1/auth/register", json={"email": "bob@example.com", "password": shopper.password}
        ),
        201,
    )
    bob = await login(client, "bob@example.com", shopper.password)
    assert data(await client.get(PREFERENCES, headers=bearer(bob["access_token"]))) == defaults


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"choices": [{"category": "orders", "channel": "email", "enabled": None}]}, "choices.0.enabled"),
        ({"choices": [{"category": "orders", "channel": "email", "enabled": "maybe"}]}, "choices.0.enabled"),
        ({"choices": [{"category": "gossip", "channel": "email", "enabled": True}]}, "choices.0.category"),
        ({"choices": [{"category": "orders", "channel": "fax", "enabled": True}]}, "choices.0.channel"),
        ({"quiet_hours": "late"}, "quiet_hours"),
        ({"quiet_hours": "25:00-07:00"}, "quiet_hours"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ],
)
async def test_notification_preferences_refuse_what_they_cannot_mean(
    client: httpx.AsyncClient, shopper: Shopper, body: dict[str, Any], field: str
) -> None:
    err = error(await client.put(PREFERENCES, json=body, headers=shopper.headers), 422)
    assert [d["field"] for d in err["details"]] == [field]
    assert _choices(data(await client.get(PREFERENCES, headers=shopper.headers)))["orders", "email"] is True
    error(await client.get(PREFERENCES), 401)
