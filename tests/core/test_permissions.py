"""Every declared permission guards something, and every role grants only declared permissions."""

from __future__ import annotations

import ast
from pathlib import Path

import emporium
from emporium.core.permissions import ROLE_PERMISSIONS, STAFF_ROLES, Permission, Role, has_permission

SOURCE = Path(emporium.__file__).parent
DECLARED_IN = SOURCE / "core" / "permissions.py"


def permissions_asked_for(source: str) -> set[str]:
    """The ``Permission.X`` names a module's code refers to."""
    return {
        node.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and _is_name(node.value, "Permission")
    }


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def test_every_permission_is_asked_for_by_some_guard() -> None:
    asked: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        if path != DECLARED_IN:
            asked |= permissions_asked_for(path.read_text())
    unused = {permission.name for permission in Permission} - asked
    assert not unused, f"declared but guarding nothing: {sorted(unused)}"


def test_the_finder_sees_a_guard() -> None:
    assert permissions_asked_for("x = StaffWith(Permission.ORDERS_READ)") == {"ORDERS_READ"}
    assert permissions_asked_for("x = StaffWith('orders:read')") == set()


def test_roles_grant_what_they_say() -> None:
    assert ROLE_PERMISSIONS[Role.SUPER_ADMIN] == frozenset(Permission)
    assert ROLE_PERMISSIONS[Role.CUSTOMER] == frozenset()
    assert Role.CUSTOMER not in STAFF_ROLES
    assert has_permission("support", Permission.ORDERS_UPDATE)
    assert not has_permission("support", Permission.REFUNDS_CREATE)
    assert not has_permission("moderator", Permission.ORDERS_UPDATE)
    assert not has_permission("nobody", Permission.ORDERS_READ)
