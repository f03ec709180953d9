"""What the notifications domain registers in the wiring step (emporium/install.py)."""

from __future__ import annotations

from emporium.core.config import Settings
from emporium.core.notify import PLAN_JOB
from emporium.notifications.config import PushSettings
from emporium.notifications.planning import DELIVER_JOB
from emporium.notifications.privacy import erase_notifications, export_notifications
from emporium.notifications.providers.base import Provider
from emporium.notifications.providers.registry import register_provider
from emporium.notifications.providers.twilio_sms import twilio_sms_provider
from emporium.notifications.providers.webpush import webpush_provider
from emporium.notifications.providers.whatsapp import whatsapp_provider
from emporium.notifications.service import SEND_EMAIL_JOB
from emporium.notifications.tasks import deliver_job, plan_job, send_email
from emporium.wiring import Wiring


def _webpush(settings: Settings) -> Provider | None:
    return webpush_provider(settings.part(PushSettings))


def install(wiring: Wiring) -> None:
    # The real senders, each answering None until its settings are given (then the development mailbox
    # keeps the channel's messages outside production, providers/registry.py).
    register_provider("sms", twilio_sms_provider)
    register_provider("whatsapp", whatsapp_provider)
    register_provider("push", _webpush)
    wiring.job(SEND_EMAIL_JOB, send_email)
    wiring.job(PLAN_JOB, plan_job)
    # The delivery job keeps its own attempts and backoff on the delivery row; the job's own retries only
    # cover the database being unreachable.
    wiring.job(DELIVER_JOB, deliver_job)
    wiring.privacy_hooks("notifications", exporter=export_notifications, eraser=erase_notifications)
