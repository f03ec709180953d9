"""Who may change prices: staff whose role grants ``coupons:write`` (coupons) or ``settings:manage`` (tax
rates and shipping)."""

from __future__ import annotations

from typing import Annotated

from emporium.accounts.auth import StaffWith
from emporium.accounts.models import User
from emporium.core.permissions import Permission

CouponsWriter = Annotated[User, StaffWith(Permission.COUPONS_WRITE)]
SettingsManager = Annotated[User, StaffWith(Permission.SETTINGS_MANAGE)]
