"""Background delivery of notifications."""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError

from emporium.core.context import AppContext
from emporium.core.jobs import PermanentJobError, current_job_id
from emporium.notifications.email import deliver, render_email


async def send_email(ctx: AppContext, payload: dict[str, Any]) -> None:
    # A mail that cannot be rendered now never will be (a missing template, variable or block):
    # no retry can help, so it goes straight to the dead jobs. Delivery errors are retried.
    try:
        mail = render_email(payload["template"], payload["to"], payload.get("context") or {})
    except (KeyError, TypeError, TemplateError) as exc:
        raise PermanentJobError(f"cannot render e-mail: {type(exc).__name__}: {exc}") from exc
    await deliver(ctx.settings, ctx.db, mail, job_id=current_job_id(), message_key=payload.get("message_key"))
