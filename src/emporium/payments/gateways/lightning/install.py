"""What the Lightning gateway registers (called by payments' install): its watcher, run every
``WATCH_EVERY_SECONDS`` since LND sends no webhooks."""

from __future__ import annotations

from emporium.payments.gateways.lightning.tasks import WATCH_EVERY_SECONDS, WATCH_JOB, watch_lightning_job
from emporium.wiring import Wiring


def install(wiring: Wiring) -> None:
    # One attempt: the next periodic run is the retry.
    wiring.job(WATCH_JOB, watch_lightning_job, max_attempts=1)
    wiring.periodic(WATCH_JOB, every_seconds=WATCH_EVERY_SECONDS)
