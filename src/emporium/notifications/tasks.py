"""Background delivery of notifications."""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateNotFound

from emporium.core.context import AppContext
from emporium.core.jobs import PermanentJobError, job
from emporium.notifications.email import deliver, render_email
from emporium.notifications.service import SEND_EMAIL_JOB


@job(SEND_EMAIL_JOB)
async def send_email(ctx: AppContext, payload: dict[str, Any]) -> None:
    try:
        mail = render_email(payload["template"], payload["to"], payload.get("context", {}))
    except (KeyError, TemplateNotFound) as exc:
        raise PermanentJobError(f"cannot render e-mail: {exc}") from exc
    await deliver(ctx.settings, ctx.db, mail, job_id=payload.get("job_id"))
