"""What the notifications domain registers in the wiring step (emporium/install.py)."""

from __future__ import annotations

from emporium.core.notify import PLAN_JOB
from emporium.notifications.planning import DELIVER_JOB
from emporium.notifications.privacy import erase_notifications, export_notifications
from emporium.notifications.service import SEND_EMAIL_JOB
from emporium.notifications.tasks import deliver_job, plan_job, send_email
from emporium.wiring import Wiring


def install(wiring: Wiring) -> None:
    wiring.job(SEND_EMAIL_JOB, send_email)
    wiring.job(PLAN_JOB, plan_job)
    # The delivery job keeps its own attempts and backoff on the delivery row; the job's own retries only
    # cover the database being unreachable.
    wiring.job(DELIVER_JOB, deliver_job)
    wiring.privacy_hooks("notifications", exporter=export_notifications, eraser=erase_notifications)
