"""Roles and the named permissions they grant: the one place where either is declared.

Routes ask for a permission (``StaffWith(Permission.ORDERS_UPDATE)``), never for a role name. A permission
is declared here only once a route or page asks for it (tests/core/test_permissions.py checks), so a role
never appears to grant what nothing enforces.
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
    SETTINGS_MANAGE = "settings:manage"
    MAILBOX_READ = "mailbox:read"
    AUDIT_READ = "audit:read"
    # The back office's people screens: staff accounts (invite, roles, deactivation) and customers.
    STAFF_MANAGE = "staff:manage"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_MANAGE = "customers:manage"
    ANALYTICS_READ = "analytics:read"
    # The shop's machinery: system health and the background jobs.
    SYSTEM_READ = "system:read"
    # Approving, rejecting and marking reviews as spam (the API's /admin/reviews and the back office's).
    REVIEWS_MODERATE = "reviews:moderate"


class Role(StrEnum):
    CUSTOMER = "customer"
    SUPPORT = "support"
    MODERATOR = "moderator"
    ADMIN = "admin"
    SUPER_ADMIN = "super_admin"


_SUPPORT = {
    Permission.ORDERS_READ,
    Permission.ORDERS_UPDATE,
    Permission.MAILBOX_READ,
    Permission.CUSTOMERS_READ,
}
# Moderators moderate reviews, and read orders (to see whether a reviewer bought what they review).
_MODERATOR = {Permission.ORDERS_READ, Permission.REVIEWS_MODERATE}
_ADMIN = (
    _SUPPORT
    | _MODERATOR
    | {
        Permission.PRODUCTS_WRITE,
        Permission.INVENTORY_WRITE,
        Permission.PAYMENTS_VERIFY,
        Permission.REFUNDS_CREATE,
        Permission.COUPONS_WRITE,
        Permission.AUDIT_READ,
        Permission.CUSTOMERS_MANAGE,
        # Admins manage support and moderator accounts only (the ladder is in accounts/staff.py).
        Permission.STAFF_MANAGE,
        Permission.ANALYTICS_READ,
        Permission.SYSTEM_READ,
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
