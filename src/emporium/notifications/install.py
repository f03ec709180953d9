"""What the notifications domain registers in the wiring step (emporium/install.py)."""

from __future__ import annotations

from emporium.core.notify import PLAN_JOB
from emporium.notifications.planning import plan
from emporium.notifications.privacy import erase_notifications
from emporium.notifications.service import SEND_EMAIL_JOB
from emporium.notifications.tasks import send_email
from emporium.wiring import Wiring


def install(wiring: Wiring) -> None:
    wiring.job(SEND_EMAIL_JOB, send_email)
    wiring.job(PLAN_JOB, plan)  # temporary, until the notifications core's planner
    wiring.privacy_hooks("notifications", eraser=erase_notifications)
