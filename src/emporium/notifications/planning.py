"""Temporary: the planning job's name is registered so that ``core.notify`` can queue it, until the
notifications core lands with the planner (it replaces this module). Until then a planning job stops at
once and is kept among the dead jobs, where staff can retry it once the planner is installed."""

from __future__ import annotations

from typing import Any

from emporium.core.context import AppContext
from emporium.core.jobs import PermanentJobError


async def plan(ctx: AppContext, payload: dict[str, Any]) -> None:
    raise PermanentJobError(f"no planner is installed yet for {payload.get('event')!r}")
