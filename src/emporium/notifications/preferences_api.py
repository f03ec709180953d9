"""A customer's notification preferences through the API: each category on each channel, and quiet hours."""

from __future__ import annotations

from fastapi import APIRouter

from emporium.accounts.auth import CurrentUser
from emporium.core.context import Ctx
from emporium.core.errors import errors_doc
from emporium.core.params import API_PREFIX
from emporium.core.responses import Envelope, ok
from emporium.core.session import DbSession
from emporium.notifications import preferences
from emporium.notifications.schemas import PreferencesRead, PreferencesUpdate

router = APIRouter(prefix=f"{API_PREFIX}/users/preferences", tags=["users"])


@router.get("/notifications", responses=errors_doc(401))
async def get_preferences(user: CurrentUser, ctx: Ctx, session: DbSession) -> Envelope[PreferencesRead]:
    return ok(await preferences.preferences_of(session, ctx.settings, user.id))


@router.put("/notifications", responses=errors_doc(401, 422))
async def update_preferences(
    data: PreferencesUpdate, user: CurrentUser, ctx: Ctx, session: DbSession
) -> Envelope[PreferencesRead]:
    saved = await preferences.update_preferences(session, ctx.settings, user.id, data, source="api")
    return ok(saved, "Preferences saved.")
