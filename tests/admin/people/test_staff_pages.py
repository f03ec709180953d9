"""``/admin/staff``: roles and their rules, deactivation and sessions, as staff use them through the pages."""

from __future__ import annotations

from sqlalchemy import select

from emporium.accounts.models import AuthSession, User
from emporium.audit.models import AuditEntry
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClientFactory
from tests.admin.people.helpers import browser, enrol, make_staff, password_step, post, user


async def _role(ctx: AppContext, user_id: int) -> str:
    return (await user(ctx, user_id)).role


async def _audited(ctx: AppContext) -> list[str]:
    async with ctx.db.session() as session:
        return list((await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all())


async def test_the_list_and_a_member_page(staff_client: StaffClientFactory, ctx: AppContext) -> None:
    boss = await staff_client("super_admin")
    agent = await staff_client("support")
    listing = await boss.get("/admin/staff")
    assert listing.status_code == 200
    assert agent.email in listing.text
    assert f'href="/admin/staff/{agent.user_id}"' in listing.text
    assert 'href="/admin/staff/invite"' in listing.text
    page = await boss.get(f"/admin/staff/{agent.user_id}")
    assert page.status_code == 200
    assert f'action="/admin/staff/{agent.user_id}/role"' in page.text
    assert f'action="/admin/staff/{agent.user_id}/deactivate"' in page.text
    own = await boss.get(f"/admin/staff/{boss.user_id}")
    assert "Nobody changes their own role" in own.text
    assert f'action="/admin/staff/{boss.user_id}/role"' not in own.text


async def test_roles_change_within_the_ladder(staff_client: StaffClientFactory, ctx: AppContext) -> None:
    boss = await staff_client("super_admin")
    admin = await staff_client("admin")
    other_admin = await staff_client("admin")
    agent = await staff_client("support")

    changed = await post(admin, f"/admin/staff/{agent.user_id}/role", role="moderator")
    assert changed.status_code == 303
    assert "is now moderator" in (await admin.get(changed.headers["location"])).text
    assert await _role(ctx, agent.user_id) == "moderator"

    refused = [
        # Nobody raises (or changes) their own role.
        (admin, admin.user_id, "super_admin", 403, "cannot change your own role"),
        (boss, boss.user_id, "admin", 403, "cannot change your own role"),
        # An admin gives only roles below their own, and manages only staff below them.
        (admin, agent.user_id, "admin", 403, "You cannot give this role."),
        (admin, other_admin.user_id, "support", 403, "You cannot manage this staff member."),
        (admin, boss.user_id, "support", 403, "You cannot manage this staff member."),
        (boss, agent.user_id, "customer", 400, "Choose one of the staff roles."),
        (boss, agent.user_id, "wizard", 400, "Choose one of the staff roles."),
    ]
    for client, target, role, status, message in refused:
        response = await post(client, f"/admin/staff/{target}/role", role=role)
        assert response.status_code == status, (target, role, response.text)
        assert message in response.text
    assert [await _role(ctx, c.user_id) for c in (boss, admin, other_admin, agent)] == [
        "super_admin",
        "admin",
        "admin",
        "moderator",
    ]
    promoted = await post(boss, f"/admin/staff/{admin.user_id}/role", role="super_admin")
    assert promoted.status_code == 303
    assert await _audited(ctx) == ["staff.role_changed", "staff.role_changed"]


async def test_a_deactivated_staff_member_is_signed_out_and_cannot_sign_in(
    staff_client: StaffClientFactory, ctx: AppContext
) -> None:
    admin = await staff_client("admin")
    agent = await staff_client("moderator")
    assert (await agent.get("/admin/account/security")).status_code == 200

    done = await post(admin, f"/admin/staff/{agent.user_id}/deactivate")
    assert done.status_code == 303
    # Their open page's next request goes to the sign-in page.
    after = await agent.get("/admin/account/security")
    assert after.status_code == 303
    assert after.headers["location"].startswith("/admin/sign-in")
    async with browser(ctx) as again:
        refused = await password_step(again, agent.email)
        assert refused.status_code == 401
    async with ctx.db.session() as session:
        sessions = (
            await session.scalars(select(AuthSession).where(AuthSession.user_id == agent.user_id))
        ).all()
        assert sessions
        assert {s.revoked_reason for s in sessions} == {"deactivated"}
    listing = await admin.get("/admin/staff")
    assert "deactivated" in listing.text

    back = await post(admin, f"/admin/staff/{agent.user_id}/reactivate")
    assert back.status_code == 303
    async with browser(ctx) as again:
        assert (await password_step(again, agent.email)).status_code == 303
    assert await _audited(ctx) == ["staff.deactivated", "staff.reactivated"]


async def test_ending_a_staff_members_sessions(staff_client: StaffClientFactory, ctx: AppContext) -> None:
    boss = await staff_client("super_admin")
    admin = await staff_client("admin")
    assert (await post(boss, f"/admin/staff/{admin.user_id}/end-sessions")).status_code == 303
    assert (await admin.get("/admin/staff")).status_code == 303
    # They may sign in again: only their sessions ended.
    async with browser(ctx) as again:
        assert (await password_step(again, admin.email)).status_code == 303
    assert await _audited(ctx) == ["staff.sessions_ended"]


async def test_the_last_super_admin_cannot_remove_themselves(
    staff_client: StaffClientFactory, ctx: AppContext
) -> None:
    boss = await staff_client("super_admin")
    for action in ("deactivate", "end-sessions"):
        refused = await post(boss, f"/admin/staff/{boss.user_id}/{action}")
        assert refused.status_code == 403
    assert (await post(boss, f"/admin/staff/{boss.user_id}/role", role="admin")).status_code == 403
    boss_row = await user(ctx, boss.user_id)
    assert (boss_row.role, boss_row.is_active) == ("super_admin", True)
    assert (await boss.get("/admin/staff")).status_code == 200
    assert await _audited(ctx) == []


async def test_a_lost_phone_reset_switches_two_factor_off(
    staff_client: StaffClientFactory, ctx: AppContext
) -> None:
    boss = await staff_client("super_admin")
    admin = await staff_client("admin")
    await enrol(admin)
    page = await boss.get(f"/admin/staff/{admin.user_id}")
    assert "reset-two-factor" in page.text
    assert (await post(boss, f"/admin/staff/{admin.user_id}/reset-two-factor")).status_code == 303
    row = await user(ctx, admin.user_id)
    assert (row.totp_secret, row.totp_enabled_at) == (None, None)
    assert (await admin.get("/admin/account/security")).status_code == 303
    async with browser(ctx) as again:
        signed_in = await password_step(again, admin.email)
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/admin/audit"


async def test_roles_without_the_permission_get_403(
    staff_client: StaffClientFactory, ctx: AppContext
) -> None:
    agent = await staff_client("support")
    moderator = await staff_client("moderator")
    for client in (agent, moderator):
        for url in ("/admin/staff", "/admin/staff/invite", f"/admin/staff/{agent.user_id}"):
            response = await client.get(url)
            assert response.status_code == 403, url
            assert "Your role does not allow this" in response.text
        forged = [
            (f"/admin/staff/{moderator.user_id}/role", {"role": "super_admin"}),
            (f"/admin/staff/{agent.user_id}/deactivate", {}),
            ("/admin/staff/invite", {"email": "sneak@example.com", "role": "super_admin"}),
        ]
        for url, fields in forged:
            assert (await post(client, url, **fields)).status_code == 403, url
    assert await _role(ctx, moderator.user_id) == "moderator"
    assert (await user(ctx, agent.user_id)).is_active
    async with ctx.db.session() as session:
        assert (await session.scalars(select(User).where(User.email == "sneak@example.com"))).first() is None


async def test_hostile_ids_and_values(staff_client: StaffClientFactory, ctx: AppContext) -> None:
    boss = await staff_client("super_admin")
    customer_id = await make_staff(ctx, "shopper@example.com", role="customer")
    for url, status in (
        ("/admin/staff/999999", 404),
        (f"/admin/staff/{customer_id}", 404),
        ("/admin/staff/0", 422),
        ("/admin/staff/-3", 422),
        ("/admin/staff/abc", 422),
        (f"/admin/staff/{2**63}", 422),
    ):
        response = await boss.get(url)
        assert response.status_code == status, url
        assert "text/html" in response.headers["content-type"]
        posted = await post(boss, f"{url}/deactivate")
        assert posted.status_code == status, url
    too_long = await post(boss, f"/admin/staff/{customer_id}/role", role="x" * 100)
    assert too_long.status_code == 422
    assert (await user(ctx, customer_id)).role == "customer"
    # A customer is not promoted through a staff screen.
    assert (await post(boss, f"/admin/staff/{customer_id}/role", role="admin")).status_code == 404
    assert (await user(ctx, customer_id)).role == "customer"
