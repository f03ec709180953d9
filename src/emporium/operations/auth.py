"""Who may read the shop's health: staff whose role grants ``system:read``."""

from __future__ import annotations

from typing import Annotated

from emporium.accounts.auth import StaffWith
from emporium.accounts.models import User
from emporium.core.permissions import Permission

SystemReader = Annotated[User, StaffWith(Permission.SYSTEM_READ)]
