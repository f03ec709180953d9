"""The back office's door: staff sign-in, the staff cookie, permissions per screen, CSRF, the idle limit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from emporium.accounts.models import AuthSession
from emporium.accounts.service import auth
from emporium.admin.session import DEV_COOKIE, HOST_COOKIE, cookie_name
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.route_limits import identifier
from tests.admin.conftest import StaffClientFactory, csrf_of, open_client, sign_in
from tests.support import STRONG_PASSWORD


async def test_a_visitor_is_sent_to_sign_in_and_back(ctx: AppContext) -> None:
    client = await open_client(ctx)
    async with client:
        response = await client.get("/admin/audit?action=order")
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/sign-in?next=/admin/audit%3Faction%3Dorder"
        async with ctx.db.session() as session:
            await auth.create_user(
                session, ctx, email="boss@staff.test", password=STRONG_PASSWORD, role="admin"
            )
        page = await client.get("/admin/sign-in", params={"next": "/admin/audit?action=order"})
        signed = await client.post(
            "/admin/sign-in",
            data={
                "email": "boss@staff.test",
                "password": STRONG_PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": "/admin/audit?action=order",
            },
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/admin/audit?action=order"
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith(f"{DEV_COOKIE}=")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Path=/" in cookie
        assert (await client.get("/admin/audit")).status_code == 200


async def test_the_cookie_is_host_prefixed_outside_development(ctx: AppContext) -> None:
    assert cookie_name(ctx.settings) == DEV_COOKIE
    production_like = ctx.settings.model_copy(update={"env": "production"})
    assert cookie_name(production_like) == HOST_COOKIE


async def test_a_customer_password_opens_nothing_here(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        await auth.create_user(
            session, ctx, email="shopper@example.com", password=STRONG_PASSWORD, role="customer"
        )
    client = await open_client(ctx)
    async with client:
        response = await sign_in(client, "shopper@example.com")
        assert response.status_code == 403
        assert "no access to the back office" in response.text
        assert DEV_COOKIE not in response.headers.get("set-cookie", "")
    async with ctx.db.session() as session:
        sessions = (await session.scalars(select(AuthSession))).all()
        assert sessions
        assert all(s.revoked_reason == "not_staff" for s in sessions)


async def test_a_wrong_password_is_refused_with_the_form_again(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        await auth.create_user(
            session, ctx, email="clerk@staff.test", password=STRONG_PASSWORD, role="support"
        )
    client = await open_client(ctx)
    async with client:
        response = await sign_in(client, "clerk@staff.test", "not-the-password-at-all")
        assert response.status_code == 401
        assert 'value="clerk@staff.test"' in response.text
        assert "not-the-password-at-all" not in response.text
        empty = await client.post(
            "/admin/sign-in", data={"csrf_token": client.csrf, "email": "", "password": ""}
        )
        assert empty.status_code == 422
        assert "Enter your e-mail address and your password." in empty.text


async def test_a_role_without_the_permission_gets_the_403_page(staff_client: StaffClientFactory) -> None:
    support = await staff_client("support")
    response = await support.get("/admin/audit")
    assert response.status_code == 403
    assert "Your role does not allow this" in response.text
    assert "text/html" in response.headers["content-type"]
    admin = await staff_client("admin")
    page = await admin.get("/admin/audit")
    assert page.status_code == 200
    assert 'href="/admin/audit"' in page.text
    # The support agent's sidebar does not offer what their role cannot open.
    home = await support.get("/admin/audit?x=1")
    assert 'href="/admin/audit"' not in home.text.split("<main", 1)[0]


async def test_every_page_carries_the_strict_policy(
    staff_client: StaffClientFactory, ctx: AppContext
) -> None:
    admin = await staff_client("admin")
    visitor = await open_client(ctx)
    async with visitor:
        for response in (await admin.get("/admin/audit"), await visitor.get("/admin/sign-in")):
            policy = response.headers["content-security-policy"]
            assert "script-src 'self'" in policy
            assert "style-src 'self'" in policy
            assert "unsafe-inline" not in policy
            assert "<script>" not in response.text
            assert " style=" not in response.text
            assert response.headers["cache-control"] == "private, no-store"


async def test_a_form_without_the_token_is_refused(staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    forged = await admin.post("/admin/sign-out")
    assert forged.status_code == 403
    assert (await admin.get("/admin/audit")).status_code == 200


async def test_signing_out_ends_the_session(staff_client: StaffClientFactory, ctx: AppContext) -> None:
    admin = await staff_client("admin")
    cookie = admin.cookies.get(DEV_COOKIE)
    response = await admin.post("/admin/sign-out", data={"csrf_token": admin.csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/sign-in"
    # The old cookie, replayed, opens nothing: the session ended on the server.
    replay = await open_client(ctx)
    async with replay:
        replay.cookies.set(DEV_COOKIE, str(cookie))
        again = await replay.get("/admin/audit")
        assert again.status_code == 303
        assert again.headers["location"].startswith("/admin/sign-in")


async def test_an_idle_session_ends(staff_client: StaffClientFactory, ctx: AppContext) -> None:
    admin = await staff_client("admin")
    assert (await admin.get("/admin/audit")).status_code == 200
    idle_since = utcnow() - timedelta(minutes=ctx.settings.staff_idle_minutes + 1)
    async with ctx.db.session() as session:
        await session.execute(update(AuthSession).values(last_used_at=idle_since))
    response = await admin.get("/admin/audit")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/sign-in")
    async with ctx.db.session() as session:
        ended = (await session.scalars(select(AuthSession).where(AuthSession.user_id == admin.user_id))).one()
        assert ended.revoked_reason == "idle"


async def test_a_tampered_cookie_opens_nothing(staff_client: StaffClientFactory, ctx: AppContext) -> None:
    admin = await staff_client("admin")
    value = str(admin.cookies.get(DEV_COOKIE))
    user_id, session_id, stage, issued, signature = value.split(".")
    client = await open_client(ctx)
    async with client:
        for forged in (
            f"{int(user_id) + 1}.{session_id}.{stage}.{issued}.{signature}",
            f"{user_id}.{session_id}.p.{issued}.{signature}",
            "garbage",
        ):
            client.cookies.set(DEV_COOKIE, forged)
            response = await client.get("/admin/audit")
            assert response.status_code == 303, forged


async def test_sign_in_never_leads_off_the_back_office(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        await auth.create_user(session, ctx, email="lead@staff.test", password=STRONG_PASSWORD, role="admin")
    for target in ("https://evil.example/", "//evil.example", "/account", "/admin/../account"):
        client = await open_client(ctx)
        async with client:
            page = await client.get("/admin/sign-in")
            response = await client.post(
                "/admin/sign-in",
                data={
                    "email": "lead@staff.test",
                    "password": STRONG_PASSWORD,
                    "csrf_token": csrf_of(page.text),
                    "next": target,
                },
            )
            assert response.status_code == 303
            location = response.headers["location"]
            assert location == "/admin" or (location.startswith("/admin/") and ".." not in location), target


async def test_hostile_sign_in_input_is_answered_with_a_page(ctx: AppContext) -> None:
    client = await open_client(ctx)
    async with client:
        page = await client.get("/admin/sign-in")
        token = csrf_of(page.text)
        long = await client.post(
            "/admin/sign-in", data={"csrf_token": token, "email": "a" * 5000, "password": "x"}
        )
        assert long.status_code == 422
        assert "text/html" in long.headers["content-type"]
        assert (await client.get("/admin/sign-in", params={"next": "x" * 5000})).status_code == 422


async def test_a_signed_in_staff_member_skips_the_sign_in_form(staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    response = await admin.get("/admin/sign-in", params={"next": "/admin/audit"})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/audit"


async def test_staff_are_counted_each_for_themselves(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    """Rate limits count a back-office request for its staff member, not for the office's one address."""
    identify = identifier(ctx.settings, ctx.tokens)
    admin = await staff_client("admin")
    value = str(admin.cookies.get(DEV_COOKIE))

    def scope(cookie: str) -> dict[str, Any]:
        return {"headers": [(b"cookie", cookie.encode())]}

    assert identify(scope(f"shop_csrf=x; {DEV_COOKIE}={value}")) == f"user:{admin.user_id}"
    forged = value.rsplit(".", 1)[0] + ".forgedforgedforgedforgedforgedforgedforged123"
    assert identify(scope(f"{DEV_COOKIE}={forged}")) is None
