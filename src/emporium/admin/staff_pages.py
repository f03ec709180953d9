"""``/admin/staff``: staff accounts: the list, invitations, and one member's role, activity and sessions.

Who may do what is the accounts service's rule (the ladder in accounts/staff.py); the screens only offer what
it would allow, and every action is refused there when forged. A refusal answers with the error page (its
status and the reason) and changes nothing: the request's transaction is rolled back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from emporium.accounts.schemas import StaffInvitationIn
from emporium.accounts.staff import Invitation, grantable_roles, may_manage, staff
from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.audit.service import audit
from emporium.core.errors import EmporiumError
from emporium.core.params import IdPath
from emporium.core.permissions import Permission
from emporium.web.account_pages import field_errors

router = admin_router(prefix="/admin/staff")

StaffPage = Annotated[AdminContext, AdminWith(Permission.STAFF_MANAGE)]
ROLE_LABELS = {"super_admin": "Super admin", "admin": "Admin", "moderator": "Moderator", "support": "Support"}
SHORT_TEXT = 100


def _member_url(user_id: int) -> str:
    return f"/admin/staff/{user_id}"


@router.get("", response_class=HTMLResponse, response_model=None)
async def staff_list(page: StaffPage) -> Response:
    return await page.render(
        "admin/people/staff_list.html.j2",
        title="Staff",
        breadcrumbs=[("Staff", None)],
        members=await staff.members(page.session),
        role_labels=ROLE_LABELS,
        may_invite=bool(grantable_roles(page.staff.role)),
    )


async def _invite_form(
    page: AdminContext,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return await page.render(
        "admin/people/staff_invite.html.j2",
        title="Invite a staff member",
        status_code=status_code,
        breadcrumbs=[("Staff", "/admin/staff"), ("Invite", None)],
        roles=[(role.value, ROLE_LABELS[role.value]) for role in grantable_roles(page.staff.role)],
        values=values or {"email": "", "first_name": "", "last_name": "", "role": "support"},
        errors=errors or {},
        hours=page.settings.staff_invitation_ttl_hours,
    )


@router.get("/invite", response_class=HTMLResponse, response_model=None)
async def invite_form(page: StaffPage) -> Response:
    return await _invite_form(page)


@router.post("/invite", response_model=None)
async def invite(
    page: StaffPage,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    first_name: Annotated[str, Form(max_length=SHORT_TEXT)] = "",
    last_name: Annotated[str, Form(max_length=SHORT_TEXT)] = "",
) -> Response:
    values = {"email": email, "role": role, "first_name": first_name, "last_name": last_name}
    try:
        data = StaffInvitationIn(
            email=email, role=role, first_name=first_name.strip() or None, last_name=last_name.strip() or None
        )
    except ValidationError as exc:
        return await _invite_form(page, values=values, errors=field_errors(exc), status_code=422)
    try:
        user = await staff.invite(
            page.session,
            page.ctx,
            page.staff,
            page.actor,
            Invitation(str(data.email), data.role, data.first_name, data.last_name),
        )
    except EmporiumError as exc:
        return await _invite_form(
            page, values=values, errors={"form": exc.message}, status_code=exc.status_code
        )
    return page.redirect(_member_url(user.id), flash=f"Invitation sent to {user.email}.")


@router.get("/{user_id}", response_class=HTMLResponse, response_model=None)
async def member_page(page: StaffPage, user_id: IdPath) -> Response:
    member = await staff.member(page.session, user_id)
    user = member.user
    return await page.render(
        "admin/people/staff_detail.html.j2",
        title=user.email,
        breadcrumbs=[("Staff", "/admin/staff"), (user.email, None)],
        member=member,
        role_labels=ROLE_LABELS,
        manageable=may_manage(page.staff, user),
        own=user.id == page.staff.id,
        roles=[(role.value, ROLE_LABELS[role.value]) for role in grantable_roles(page.staff.role)],
        history=await audit.for_object(page.session, "user", user.id, limit=20),
    )


@router.post("/{user_id}/role", response_model=None)
async def change_role(
    page: StaffPage, user_id: IdPath, role: Annotated[str, Form(max_length=32)] = ""
) -> Response:
    user = await staff.change_role(page.session, page.staff, page.actor, user_id, role)
    return page.redirect(_member_url(user.id), flash=f"{user.email} is now {ROLE_LABELS[user.role].lower()}.")


@router.post("/{user_id}/deactivate", response_model=None)
async def deactivate(page: StaffPage, user_id: IdPath) -> Response:
    user = await staff.deactivate(page.session, page.staff, page.actor, user_id)
    return page.redirect(
        _member_url(user.id), flash=f"{user.email} is deactivated and signed out everywhere."
    )


@router.post("/{user_id}/reactivate", response_model=None)
async def reactivate(page: StaffPage, user_id: IdPath) -> Response:
    user = await staff.reactivate(page.session, page.staff, page.actor, user_id)
    return page.redirect(_member_url(user.id), flash=f"{user.email} may sign in again.")


@router.post("/{user_id}/end-sessions", response_model=None)
async def end_sessions(page: StaffPage, user_id: IdPath) -> Response:
    user = await staff.end_sessions(page.session, page.staff, page.actor, user_id)
    return page.redirect(_member_url(user.id), flash=f"{user.email} is signed out everywhere.")


@router.post("/{user_id}/reset-two-factor", response_model=None)
async def reset_two_factor(page: StaffPage, user_id: IdPath) -> Response:
    user = await staff.reset_two_factor(page.session, page.staff, page.actor, user_id)
    return page.redirect(
        _member_url(user.id), flash=f"Two-factor sign-in of {user.email} is off; they can set it up again."
    )


@router.post("/{user_id}/resend-invitation", response_model=None)
async def resend_invitation(page: StaffPage, user_id: IdPath) -> Response:
    user = await staff.resend_invitation(page.session, page.ctx, page.staff, page.actor, user_id)
    return page.redirect(_member_url(user.id), flash=f"A new invitation was sent to {user.email}.")
