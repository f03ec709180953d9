"""Inviting staff: the form, the e-mail a real SMTP server receives, the link that sets the password once,
then signing in with it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from emporium.accounts.models import OneTimeToken, User
from emporium.audit.models import AuditEntry
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from tests.admin.conftest import StaffClientFactory, csrf_of, open_client
from tests.admin.people.helpers import browser, password_step, post
from tests.support import SmtpServer

LINK = re.compile(r"http://shop\.test/admin/invitation/([A-Za-z0-9_-]+)")
NEW_PASSWORD = "a fresh staff passphrase"


async def _invitation_link(ctx: AppContext, smtp: SmtpServer, email: str) -> str:
    await ctx.jobs.run_until_idle()
    mails = smtp.sink.to(email)
    assert mails, "no invitation was sent"
    mail = mails[-1]
    assert mail.subject == "You are invited to the Emporium back office"
    found = LINK.search(mail.text)
    assert found, mail.text
    assert found.group(0) in mail.html
    return f"/admin/invitation/{found.group(1)}"


async def _users_named(ctx: AppContext, email: str) -> int:
    async with ctx.db.session() as session:
        return int(
            await session.scalar(select(func.count()).select_from(User).where(User.email == email)) or 0
        )


async def test_an_invited_staff_member_sets_a_password_and_signs_in(
    staff_client: StaffClientFactory, ctx: AppContext, smtp: SmtpServer
) -> None:
    boss = await staff_client("super_admin")
    form = await boss.get("/admin/staff/invite")
    assert form.status_code == 200
    assert 'value="super_admin"' in form.text
    sent = await post(
        boss, "/admin/staff/invite", email="New.Hire@Example.com", role="moderator", first_name="Nia"
    )
    assert sent.status_code == 303
    assert re.fullmatch(r"/admin/staff/\d+", sent.headers["location"])
    member = await boss.get(sent.headers["location"])
    assert "Invitation sent to new.hire@example.com" in member.text
    assert "invitation not accepted yet" in member.text

    link = await _invitation_link(ctx, smtp, "new.hire@example.com")
    visitor = await open_client(ctx)
    async with visitor:
        page = await visitor.get(link)
        assert page.status_code == 200
        assert "new.hire@example.com" in page.text
        assert " style=" not in page.text
        # The account has no password yet: nothing signs in with it.
        async with browser(ctx) as other:
            refused = await password_step(other, "new.hire@example.com", "anything at all")
            assert refused.status_code == 401
        token = csrf_of(page.text)
        weak = await visitor.post(link, data={"csrf_token": token, "password": "short"})
        assert weak.status_code == 422
        assert "at least 8 characters" in weak.text
        accepted = await visitor.post(link, data={"csrf_token": token, "password": NEW_PASSWORD})
        assert accepted.status_code == 303
        assert accepted.headers["location"] == "/admin/sign-in"
        # The link works once.
        again = await visitor.get(link)
        assert again.status_code == 400
        assert "not valid, was used already or has expired" in again.text
        replay = await visitor.post(link, data={"csrf_token": token, "password": "another staff passphrase"})
        assert replay.status_code == 400

    async with browser(ctx) as client:
        signed_in = await password_step(client, "new.hire@example.com", NEW_PASSWORD)
        assert signed_in.status_code == 303
        assert (await client.get("/admin/account/security")).status_code == 200
    async with ctx.db.session() as session:
        hired = (await session.scalars(select(User).where(User.email == "new.hire@example.com"))).one()
        assert (hired.role, hired.first_name, hired.is_active) == ("moderator", "Nia", True)
        assert hired.email_verified_at is not None
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
        assert actions == ["staff.invited", "staff.invitation_accepted"]


async def test_an_expired_or_forged_link_sets_nothing(
    staff_client: StaffClientFactory, ctx: AppContext, smtp: SmtpServer
) -> None:
    admin = await staff_client("admin")
    assert (
        await post(admin, "/admin/staff/invite", email="late@example.com", role="support")
    ).status_code == 303
    link = await _invitation_link(ctx, smtp, "late@example.com")
    async with ctx.db.session() as session:
        await session.execute(update(OneTimeToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    visitor = await open_client(ctx)
    async with visitor:
        page = await visitor.get("/admin/sign-in")
        token = csrf_of(page.text)
        for url, status in (
            (link, 400),
            ("/admin/invitation/" + "A" * 43, 400),
            ("/admin/invitation/" + "A" * 500, 422),
            ("/admin/invitation/not%20a%20token!", 422),
        ):
            response = await visitor.post(url, data={"csrf_token": token, "password": NEW_PASSWORD})
            assert response.status_code == status, url
            assert "text/html" in response.headers["content-type"]
        # A post without the form's token is refused before anything runs.
        assert (await visitor.post(link, data={"password": NEW_PASSWORD})).status_code == 403
    async with ctx.db.session() as session:
        late = (await session.scalars(select(User).where(User.email == "late@example.com"))).one()
        assert late.password_hash is None


async def test_a_new_invitation_voids_the_old_link(
    staff_client: StaffClientFactory, ctx: AppContext, smtp: SmtpServer
) -> None:
    admin = await staff_client("admin")
    sent = await post(admin, "/admin/staff/invite", email="twice@example.com", role="support")
    first = await _invitation_link(ctx, smtp, "twice@example.com")
    smtp.sink.clear()
    again = await post(admin, sent.headers["location"] + "/resend-invitation")
    assert again.status_code == 303
    second = await _invitation_link(ctx, smtp, "twice@example.com")
    assert first != second
    visitor = await open_client(ctx)
    async with visitor:
        assert (await visitor.get(first)).status_code == 400
        assert (await visitor.get(second)).status_code == 200


async def test_the_invitation_form_refuses_bad_input(
    staff_client: StaffClientFactory, ctx: AppContext, smtp: SmtpServer
) -> None:
    admin = await staff_client("admin")
    taken = await staff_client("support", email="taken@example.com")
    cases = [
        ({"email": "not-an-address", "role": "support"}, 422, "valid e-mail address"),
        ({"email": "x@example.com", "role": "x" * 33}, 422, None),
        ({"email": "a" * 400 + "@staff.test", "role": "support"}, 422, None),
        ({"email": "x@example.com", "role": "support", "first_name": "y" * 101}, 422, None),
        # An admin gives only roles below their own.
        ({"email": "x@example.com", "role": "admin"}, 403, "You cannot give this role."),
        ({"email": "x@example.com", "role": "super_admin"}, 403, "You cannot give this role."),
        ({"email": "x@example.com", "role": "customer"}, 403, "You cannot give this role."),
        ({"email": taken.email, "role": "support"}, 409, "already exists"),
    ]
    for fields, status, message in cases:
        response = await post(admin, "/admin/staff/invite", **fields)
        assert response.status_code == status, (fields, response.text)
        assert "text/html" in response.headers["content-type"]
        if message:
            assert message in response.text
    assert await _users_named(ctx, "x@example.com") == 0
    # A form posted without the CSRF token creates nothing either.
    forged = await admin.post("/admin/staff/invite", data={"email": "forged@example.com", "role": "support"})
    assert forged.status_code == 403
    assert await _users_named(ctx, "forged@example.com") == 0
    await ctx.jobs.run_until_idle()
    assert not smtp.sink.to("x@example.com")
