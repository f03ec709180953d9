"""Who may change the catalog, and who sees what shoppers do not (draft and archived products, inactive
variants and categories): staff whose role grants ``products:write``."""

from __future__ import annotations

from typing import Annotated

from emporium.accounts.auth import Principal, StaffWith
from emporium.accounts.models import User
from emporium.core.permissions import Permission, has_permission

ProductsWriter = Annotated[User, StaffWith(Permission.PRODUCTS_WRITE)]


def sees_unpublished(principal: Principal | None) -> bool:
    """Whether the caller is staff who may write products, and so sees what is not for sale."""
    return principal is not None and has_permission(principal.user.role, Permission.PRODUCTS_WRITE)
