"""What the journeys register in the wiring step (emporium/install.py): the periodic scan for abandoned
carts, the back-in-stock job, and the stock hook that tells edges from levels."""

from __future__ import annotations

from emporium.journeys.edges import stock_changed
from emporium.journeys.tasks import (
    BACK_IN_STOCK_JOB,
    SCAN_EVERY_SECONDS,
    SCAN_JOB,
    back_in_stock_job,
    scan_job,
)
from emporium.wiring import Wiring


def install(wiring: Wiring) -> None:
    wiring.job(SCAN_JOB, scan_job, max_attempts=3)
    wiring.periodic(SCAN_JOB, every_seconds=SCAN_EVERY_SECONDS)
    wiring.job(BACK_IN_STOCK_JOB, back_in_stock_job)
    wiring.stock_hook(stock_changed)
