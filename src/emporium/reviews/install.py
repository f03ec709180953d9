"""What reviews register in the wiring step (emporium/install.py): the review request after delivery (an
order hook and an hourly job), the nightly recompute of the rating summaries, and the customer's reviews
and votes in their data export and erasure."""

from __future__ import annotations

from emporium.reviews.privacy import erase_reviews, export_reviews
from emporium.reviews.requests import on_order_moved
from emporium.reviews.tasks import RECOMPUTE_JOB, SEND_REQUESTS_JOB, recompute_job, send_requests_job
from emporium.wiring import Wiring


def install(wiring: Wiring) -> None:
    wiring.order_moved_hook(on_order_moved)
    wiring.job(SEND_REQUESTS_JOB, send_requests_job, max_attempts=3)
    wiring.periodic(SEND_REQUESTS_JOB, every_seconds=3600)
    wiring.job(RECOMPUTE_JOB, recompute_job, max_attempts=2)
    wiring.periodic(RECOMPUTE_JOB, every_seconds=24 * 3600)
    wiring.privacy_hooks("reviews", exporter=export_reviews, eraser=erase_reviews)
