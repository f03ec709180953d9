"""What wishlists register in the wiring step (emporium/install.py): the daily removal of expired guest
lists, the guest list's merge into the customer's default list at sign-in, and the customer's lists in
their data export and erasure."""

from __future__ import annotations

from emporium.wiring import Wiring
from emporium.wishlists.tasks import (
    REMOVE_EXPIRED_JOB,
    erase_wishlists,
    export_wishlists,
    merge_at_login,
    remove_expired_job,
)


def install(wiring: Wiring) -> None:
    wiring.job(REMOVE_EXPIRED_JOB, remove_expired_job, max_attempts=3)
    wiring.periodic(REMOVE_EXPIRED_JOB, every_seconds=86400)
    wiring.login_hook(merge_at_login)
    wiring.privacy_hooks("wishlists", exporter=export_wishlists, eraser=erase_wishlists)
