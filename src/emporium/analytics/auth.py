"""Who may read the shop's figures: staff whose role grants ``analytics:read``."""

from __future__ import annotations

from typing import Annotated

from emporium.accounts.auth import StaffWith
from emporium.accounts.models import User
from emporium.core.permissions import Permission

AnalyticsReader = Annotated[User, StaffWith(Permission.ANALYTICS_READ)]
