"""Who may read and change stock: staff whose role grants ``inventory:write``."""

from __future__ import annotations

from typing import Annotated

from emporium.accounts.auth import StaffWith
from emporium.accounts.models import User
from emporium.core.permissions import Permission

InventoryWriter = Annotated[User, StaffWith(Permission.INVENTORY_WRITE)]
