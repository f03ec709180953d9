"""Roles and the named permissions they grant: the one place where either is declared.

Routes ask for a permission (``StaffWith(Permission.ORDERS_UPDATE)``), never for a role name.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    PRODUCTS_WRITE = "products:write"
    INVENTORY_WRITE = "inventory:write"
    ORDERS_READ = "orders:read"
    ORDERS_UPDATE = "orders:update"
    PAYMENTS_VERIFY = "payments:verify"
    REFUNDS_CREATE = "refunds:create"
    COUPONS_WRITE = "coupons:write"
    REVIEWS_MODERATE = "reviews:moderate"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    STAFF_MANAGE = "staff:manage"
    SETTINGS_MANAGE = "settings:manage"
    MAILBOX_READ = "mailbox:read"
    JOBS_READ = "jobs:read"
    STATS_READ = "stats:read"


class Role(StrEnum):
    CUSTOMER = "customer"
    SUPPORT = "support"
    MODERATOR = "moderator"
    ADMIN = "admin"
    SUPER_ADMIN = "super_admin"


_SUPPORT = {
    Permission.ORDERS_READ,
    Permission.ORDERS_UPDATE,
    Permission.USERS_READ,
    Permission.MAILBOX_READ,
}
_MODERATOR = {Permission.REVIEWS_MODERATE, Permission.ORDERS_READ, Permission.USERS_READ}
_ADMIN = (
    _SUPPORT
    | _MODERATOR
    | {
        Permission.PRODUCTS_WRITE,
        Permission.INVENTORY_WRITE,
        Permission.PAYMENTS_VERIFY,
        Permission.REFUNDS_CREATE,
        Permission.COUPONS_WRITE,
        Permission.USERS_MANAGE,
        Permission.JOBS_READ,
        Permission.STATS_READ,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CUSTOMER: frozenset(),
    Role.SUPPORT: frozenset(_SUPPORT),
    Role.MODERATOR: frozenset(_MODERATOR),
    Role.ADMIN: frozenset(_ADMIN),
    Role.SUPER_ADMIN: frozenset(Permission),
}

STAFF_ROLES = frozenset(role for role, perms in ROLE_PERMISSIONS.items() if perms)


def permissions_of(role: str) -> frozenset[Permission]:
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()


def has_permission(role: str, permission: Permission) -> bool:
    return permission in permissions_of(role)
