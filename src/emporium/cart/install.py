"""What the cart registers in the wiring step (emporium/install.py): the hourly removal of expired carts,
and the guest cart's merge into the customer's at sign-in."""

from __future__ import annotations

from emporium.cart.tasks import REMOVE_EXPIRED_JOB, merge_at_login, remove_expired_job
from emporium.wiring import Wiring


def install(wiring: Wiring) -> None:
    wiring.job(REMOVE_EXPIRED_JOB, remove_expired_job, max_attempts=3)
    wiring.periodic(REMOVE_EXPIRED_JOB, every_seconds=3600)
    wiring.login_hook(merge_at_login)
