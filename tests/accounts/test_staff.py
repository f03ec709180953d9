"""Staff management rules (accounts/staff.py): the role ladder, the last active super admin, and two super
admins removing each other at the same moment (every transaction really commits)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from emporium.accounts.models import User
from emporium.accounts.service import auth
from emporium.accounts.staff import grantable_roles, keep_a_super_admin, may_manage, staff
from emporium.audit.models import AuditEntry
from emporium.audit.schemas import Actor
from emporium.core.context import AppContext
from emporium.core.errors import Conflict, EmporiumError, Forbidden
from emporium.core.permissions import Role
from tests.conftest import MakeContext
from tests.support import STRONG_PASSWORD


def _user(user_id: int, role: str, *, active: bool = True) -> User:
    return User(id=user_id, email=f"{user_id}@staff.test", role=role, is_active=active)


def test_the_ladder() -> None:
    assert grantable_roles("super_admin") == [Role.SUPER_ADMIN, Role.ADMIN, Role.MODERATOR, Role.SUPPORT]
    assert grantable_roles("admin") == [Role.MODERATOR, Role.SUPPORT]
    assert grantable_roles("support") == grantable_roles("moderator") == grantable_roles("customer") == []
    boss, other_boss = _user(1, "super_admin"), _user(2, "super_admin")
    admin, other_admin, agent = _user(3, "admin"), _user(4, "admin"), _user(5, "support")
    assert may_manage(boss, other_boss)
    assert may_manage(boss, admin)
    assert may_manage(boss, agent)
    assert may_manage(admin, agent)
    assert may_manage(admin, _user(6, "moderator"))
    assert not may_manage(admin, other_admin)
    assert not may_manage(admin, boss)
    assert not may_manage(agent, _user(7, "support"))
    # Nobody manages themselves; a deactivated actor manages nobody; a customer is not staff.
    assert not may_manage(boss, boss)
    assert not may_manage(_user(8, "super_admin", active=False), admin)
    assert not may_manage(boss, _user(9, "customer"))


async def _make(ctx: AppContext, email: str, role: str) -> User:
    async with ctx.db.session() as session:
        return await auth.create_user(session, ctx, email=email, password=STRONG_PASSWORD, role=role)


def _actor(user: User) -> Actor:
    return Actor(user.id, user.email, None)


async def _change_role(ctx: AppContext, by: User, target: User, role: str) -> None:
    async with ctx.db.session() as session:
        await staff.change_role(session, by, _actor(by), target.id, role)


async def test_role_changes_follow_the_ladder_and_are_audited(ctx: AppContext) -> None:
    boss = await _make(ctx, "boss@staff.test", "super_admin")
    admin = await _make(ctx, "admin@staff.test", "admin")
    agent = await _make(ctx, "agent@staff.test", "support")
    await _change_role(ctx, admin, agent, "moderator")
    for by, target, role in (
        (admin, agent, "admin"),
        (admin, agent, "super_admin"),
        (admin, boss, "support"),
    ):
        with pytest.raises(Forbidden):
            await _change_role(ctx, by, target, role)
    # Not even a super admin changes their own role, up or down.
    for role in ("admin", "super_admin"):
        with pytest.raises(Forbidden) as own:
            await _change_role(ctx, boss, boss, role)
        assert own.value.code == "OWN_ACCOUNT"
    with pytest.raises(Forbidden):
        await _change_role(ctx, admin, admin, "super_admin")
    await _change_role(ctx, boss, admin, "super_admin")
    with pytest.raises(EmporiumError) as unknown:
        await _change_role(ctx, boss, agent, "customer")
    assert unknown.value.status_code == 400
    async with ctx.db.session() as session:
        roles = dict((await session.execute(select(User.email, User.role))).all())
        assert roles == {
            "boss@staff.test": "super_admin",
            "admin@staff.test": "super_admin",
            "agent@staff.test": "moderator",
        }
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        assert [(e.action, e.object_label, e.changes) for e in entries] == [
            ("staff.role_changed", "agent@staff.test", '{"role": ["support", "moderator"]}'),
            ("staff.role_changed", "admin@staff.test", '{"role": ["admin", "super_admin"]}'),
        ]
        assert entries[0].actor_email == "admin@staff.test"


async def test_the_last_super_admin_stays(ctx: AppContext) -> None:
    boss = await _make(ctx, "only@staff.test", "super_admin")
    other = await _make(ctx, "second@staff.test", "super_admin")
    async with ctx.db.session() as session:
        await staff.deactivate(session, boss, _actor(boss), other.id)
    # The deactivated one cannot act; the one left cannot remove themselves.
    with pytest.raises(Forbidden):
        await _change_role(ctx, other, boss, "admin")
    with pytest.raises(Forbidden):
        await _change_role(ctx, boss, boss, "admin")
    async with ctx.db.session() as session:
        with pytest.raises(Forbidden):
            await staff.deactivate(session, boss, _actor(boss), boss.id)
    # A super admin whose account was deactivated meanwhile acts with what the database says now.
    async with ctx.db.session() as session:
        stale = await session.get(User, other.id)
        assert stale is not None
        assert not stale.is_active


def test_the_rule_itself_refuses_to_leave_no_super_admin() -> None:
    only, other = _user(1, "super_admin"), _user(2, "super_admin")
    with pytest.raises(Conflict) as refused:
        keep_a_super_admin([only], only)
    assert refused.value.code == "LAST_SUPER_ADMIN"
    keep_a_super_admin([only, other], only)


async def test_an_actor_demoted_meanwhile_acts_with_the_role_held_now(ctx: AppContext) -> None:
    boss = await _make(ctx, "keeper@staff.test", "super_admin")
    target = await _make(ctx, "target@staff.test", "super_admin")
    async with ctx.db.session() as session:
        # The actor turned admin in the database after the page loaded them: the check re-reads them.
        acting = await session.get(User, boss.id)
        assert acting is not None
        acting.role = "admin"
    with pytest.raises(Forbidden):
        await _change_role(ctx, boss, target, "admin")
    async with ctx.db.session() as session:
        assert (await session.get(User, target.id)) is not None
        roles = (await session.scalars(select(User.role).where(User.id == target.id))).one()
        assert roles == "super_admin"


@pytest.mark.parametrize("move", ["demote", "deactivate"])
async def test_two_super_admins_removing_each_other_at_once_leave_one(
    make_committed_context: MakeContext, move: str
) -> None:
    ctx = make_committed_context()
    first = await _make(ctx, "first@staff.test", "super_admin")
    second = await _make(ctx, "second@staff.test", "super_admin")
    start = asyncio.Event()

    async def remove(by: User, target: User) -> str:
        await start.wait()
        try:
            async with ctx.db.session() as session:
                if move == "demote":
                    await staff.change_role(session, by, _actor(by), target.id, "admin")
                else:
                    await staff.deactivate(session, by, _actor(by), target.id)
                # Hold the locks a moment, so the other transaction really has to wait on them.
                await asyncio.sleep(0.05)
        except (Forbidden, Conflict) as exc:
            return str(exc.code)
        return "done"

    tasks = [asyncio.create_task(remove(first, second)), asyncio.create_task(remove(second, first))]
    await asyncio.sleep(0)
    start.set()
    outcomes = await asyncio.gather(*tasks)
    # One wins; the other, queued behind its locks, finds itself no longer a super admin.
    assert sorted(outcomes) == ["PERMISSION_DENIED", "done"], outcomes
    async with ctx.db.session() as session:
        left = (
            await session.scalars(
                select(User.email).where(User.role == "super_admin", User.is_active.is_(True))
            )
        ).all()
        assert len(left) == 1
        assert len((await session.scalars(select(AuditEntry))).all()) == 1
