"""The back office's sections, in sidebar order; a section whose permission the staff member lacks is
neither shown nor reachable (its pages ask for the same permission)."""

from __future__ import annotations

from dataclasses import dataclass

from emporium.core.permissions import Permission


@dataclass(frozen=True)
class Section:
    label: str
    url: str
    # None: every staff member may open it.
    permission: Permission | None = None


SECTIONS: tuple[Section, ...] = (
    Section("Home", "/admin"),
    Section("Orders", "/admin/orders", Permission.ORDERS_READ),
    Section("Products", "/admin/products", Permission.PRODUCTS_WRITE),
    Section("Categories", "/admin/categories", Permission.PRODUCTS_WRITE),
    Section("Brands", "/admin/brands", Permission.PRODUCTS_WRITE),
    Section("Inventory", "/admin/inventory", Permission.INVENTORY_WRITE),
    Section("Coupons", "/admin/coupons", Permission.COUPONS_WRITE),
    Section("Reviews", "/admin/reviews", Permission.REVIEWS_MODERATE),
    Section("Customers", "/admin/customers", Permission.CUSTOMERS_READ),
    Section("Staff", "/admin/staff", Permission.STAFF_MANAGE),
    Section("Reports", "/admin/reports", Permission.ANALYTICS_READ),
    Section("Settings", "/admin/settings", Permission.SETTINGS_MANAGE),
    Section("Pages", "/admin/pages", Permission.SETTINGS_MANAGE),
    Section("Jobs", "/admin/jobs", Permission.SYSTEM_READ),
    Section("Health", "/admin/health", Permission.SYSTEM_READ),
    Section("Mailbox", "/admin/mailbox", Permission.MAILBOX_READ),
    Section("Audit log", "/admin/audit", Permission.AUDIT_READ),
    Section("Your security", "/admin/account/security"),
)
