"""Who may touch reviews: a signed-in customer their own (another's is a 404 in the service), staff whose
role grants ``reviews:moderate`` every review."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request

from emporium.accounts.auth import StaffWith
from emporium.accounts.models import User
from emporium.audit.schemas import Actor
from emporium.core.permissions import Permission

Moderator = Annotated[User, StaffWith(Permission.REVIEWS_MODERATE)]


def client_address(request: Request) -> str | None:
    return request.client.host[:64] if request.client else None


def moderator_actor(request: Request, staff: User) -> Actor:
    return Actor(staff.id, staff.email, client_address(request))
