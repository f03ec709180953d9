"""Background work of notifications: planning an event, sending one delivery, and the e-mails queued
directly (core/mail.py)."""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError

from emporium.core.context import AppContext
from emporium.core.jobs import PermanentJobError, current_job_id
from emporium.notifications import delivery, planning
from emporium.notifications.email import deliver, render_email


async def send_email(ctx: AppContext, payload: dict[str, Any]) -> None:
    # A mail that cannot be rendered now never will be (a missing template, variable or block):
    # no retry can help, so it goes straight to the dead jobs. Delivery errors are retried.
    try:
        mail = render_email(payload["template"], payload["to"], payload.get("context") or {})
    except (KeyError, TypeError, TemplateError) as exc:
        raise PermanentJobError(f"cannot render e-mail: {type(exc).__name__}: {exc}") from exc
    await deliver(ctx.settings, ctx.db, mail, job_id=current_job_id(), message_key=payload.get("message_key"))


async def plan_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Write the event's notifications and deliveries (and the deliveries' jobs), in one transaction."""
    try:
        async with ctx.db.session() as session:
            await planning.plan(session, ctx.settings, payload)
    except TemplateError as exc:
        raise PermanentJobError(f"cannot render {payload.get('event')}: {exc}") from exc


async def deliver_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    try:
        delivery_id = int(payload["delivery_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentJobError(f"no delivery id in {payload!r}") from exc
    await delivery.deliver(ctx.settings, ctx.db, delivery_id)
