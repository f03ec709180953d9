"""Two-factor sign-in through the pages: set-up on ``/admin/account/security``, the code step of the sign-in,
replays and recovery codes refused a second time, the wrong-code limit, and the setting that requires it."""

from __future__ import annotations

from emporium.core.context import AppContext
from tests.admin.conftest import StaffClient, StaffClientFactory, csrf_of
from tests.admin.people.helpers import browser, code, enrol, make_staff, password_step, post, user
from tests.conftest import MakeContext


async def _code_step(client: StaffClient, given: str, next_url: str = "/admin/audit") -> int:
    page = await client.get(f"/admin/sign-in/code?next={next_url}")
    assert page.status_code == 200, page.text
    response = await client.post(
        "/admin/sign-in/code", data={"csrf_token": csrf_of(page.text), "code": given, "next": next_url}
    )
    return response.status_code


async def _sign_in_with(ctx: AppContext, email: str, given: str) -> int:
    """A fresh browser through both steps; the code step's status (303 when signed in)."""
    async with browser(ctx) as client:
        first = await password_step(client, email)
        assert first.status_code == 303
        return await _code_step(client, given)


async def test_setting_it_up_shows_a_qr_code_and_needs_a_right_code(
    staff_client: StaffClientFactory, ctx: AppContext
) -> None:
    admin = await staff_client("admin")
    page = await admin.get("/admin/account/security")
    assert "Two-factor sign-in is off" in page.text
    assert (await post(admin, "/admin/account/security/enrol")).status_code == 303
    setup = await admin.get("/admin/account/security")
    assert '<img class="admin-people-qr" src="data:image/svg+xml' in setup.text
    assert " style=" not in setup.text
    assert "img-src 'self' data:" in setup.headers["content-security-policy"]
    wrong = await post(admin, "/admin/account/security/confirm", code="000000")
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.text
    hostile = await post(admin, "/admin/account/security/confirm", code="9" * 65)
    assert hostile.status_code == 422
    assert (await user(ctx, admin.user_id)).totp_enabled_at is None
    secret, codes = await enrol(admin)
    assert len(set(codes)) == 8
    on = await admin.get("/admin/account/security")
    assert "Two-factor sign-in is on" in on.text
    assert secret not in on.text  # the secret is never shown again
    assert "8</strong> unused recovery codes" in on.text


async def test_signing_in_asks_for_the_code_and_refuses_a_replay(
    staff_client: StaffClientFactory, ctx: AppContext
) -> None:
    admin = await staff_client("admin")
    secret, codes = await enrol(admin)

    async with browser(ctx) as client:
        first = await password_step(client, admin.email)
        assert first.status_code == 303
        assert first.headers["location"] == "/admin/sign-in/code?next=/admin/audit"
        # The password alone opens no screen.
        blocked = await client.get("/admin/audit")
        assert blocked.status_code == 303
        assert blocked.headers["location"].startswith("/admin/sign-in")
        assert await _code_step(client, "000000") == 401
        assert await _code_step(client, code(secret, 1)) == 303
        assert (await client.get("/admin/audit")).status_code == 200

    # The same code, seen over a shoulder, opens nothing in another browser.
    assert await _sign_in_with(ctx, admin.email, code(secret, 1)) == 401
    # A recovery code works once.
    assert await _sign_in_with(ctx, admin.email, codes[0]) == 303
    assert await _sign_in_with(ctx, admin.email, codes[0]) == 401
    security = await admin.get("/admin/account/security")
    assert "7</strong> unused recovery codes" in security.text


async def test_the_code_page_without_a_password_step(
    staff_client: StaffClientFactory, ctx: AppContext
) -> None:
    async with browser(ctx) as client:
        page = await client.get("/admin/sign-in/code")
        assert page.status_code == 303
        assert page.headers["location"] == "/admin/sign-in"
        signin = await client.get("/admin/sign-in")
        posted = await client.post(
            "/admin/sign-in/code", data={"csrf_token": csrf_of(signin.text), "code": "123456"}
        )
        assert posted.status_code == 303
        assert posted.headers["location"] == "/admin/sign-in"
    # A signed-in staff member without two-factor has no code step either.
    admin = await staff_client("admin")
    assert (await admin.get("/admin/sign-in/code")).status_code == 303


async def test_hostile_codes_are_answered_with_a_page(
    staff_client: StaffClientFactory, ctx: AppContext
) -> None:
    admin = await staff_client("admin")
    await enrol(admin)
    async with browser(ctx) as client:
        await password_step(client, admin.email)
        page = await client.get("/admin/sign-in/code")
        token = csrf_of(page.text)
        for given, status in (("x" * 65, 422), ("", 422), ("<script>", 401), ("12345678901234567890", 401)):
            response = await client.post("/admin/sign-in/code", data={"csrf_token": token, "code": given})
            assert response.status_code == status, given
            assert "text/html" in response.headers["content-type"]
            assert "<script>" not in response.text.split("</head>", 1)[1]
        # Without the form's token nothing is checked at all.
        assert (await client.post("/admin/sign-in/code", data={"code": "123456"})).status_code == 403


async def test_wrong_codes_are_limited(make_context: MakeContext) -> None:
    ctx = make_context(login_max_failures=3)
    user_id = await make_staff(ctx, "guess@staff.test")
    async with browser(ctx) as owner:
        await password_step(owner, "guess@staff.test")
        secret, _ = await enrol(owner)
    async with browser(ctx) as client:
        await password_step(client, "guess@staff.test")
        statuses = [await _code_step(client, f"00000{i}") for i in range(4)]
        assert statuses == [401, 401, 401, 429]
        # Locked: the right code waits too.
        assert await _code_step(client, code(secret, 1)) == 429
    assert (await user(ctx, user_id)).totp_enabled_at is not None


async def test_switching_it_off_needs_a_code(staff_client: StaffClientFactory, ctx: AppContext) -> None:
    admin = await staff_client("admin")
    secret, _ = await enrol(admin)
    refused = await post(admin, "/admin/account/security/disable", code="000000")
    assert refused.status_code == 400
    assert (await user(ctx, admin.user_id)).totp_enabled_at is not None
    done = await post(admin, "/admin/account/security/disable", code=code(secret, 1))
    assert done.status_code == 303
    assert "Two-factor sign-in is off." in (await admin.get(done.headers["location"])).text
    async with browser(ctx) as client:
        signed = await password_step(client, admin.email)
        assert signed.headers["location"] == "/admin/audit"


async def test_new_recovery_codes_through_the_page(staff_client: StaffClientFactory, ctx: AppContext) -> None:
    admin = await staff_client("admin")
    secret, old = await enrol(admin)
    fresh = await post(admin, "/admin/account/security/recovery-codes", code=code(secret, 1))
    assert fresh.status_code == 200
    assert "Your recovery codes" in fresh.text
    assert old[0] not in fresh.text
    assert await _sign_in_with(ctx, admin.email, old[0]) == 401


async def test_the_required_setting_sends_staff_to_set_it_up_first(make_context: MakeContext) -> None:
    ctx = make_context(staff_totp_required=True)
    await make_staff(ctx, "must@staff.test", role="super_admin")
    async with browser(ctx) as client:
        signed = await password_step(client, "must@staff.test", next_url="/admin/staff")
        assert signed.status_code == 303
        for url in ("/admin/staff", "/admin/customers", "/admin/audit"):
            sent = await client.get(url)
            assert sent.status_code == 303, url
            assert sent.headers["location"] == "/admin/account/security"
        # A forged action elsewhere is refused the same way.
        forged = await post(client, "/admin/staff/invite", email="a@example.com", role="support")
        assert forged.status_code == 303
        page = await client.get("/admin/account/security")
        assert page.status_code == 200
        assert "Set up two-factor sign-in before you continue." in page.text
        await enrol(client)
        assert (await client.get("/admin/staff")).status_code == 200
