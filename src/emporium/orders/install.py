"""What the orders domain registers in the wiring step (emporium/install.py): unpaid orders expire every
minute, old idempotency keys are forgotten daily, and a customer's orders join their data export and
erasure."""

from __future__ import annotations

from emporium.orders.notices import receipt
from emporium.orders.privacy import erase_orders, export_orders
from emporium.orders.tasks import EXPIRE_UNPAID_JOB, FORGET_KEYS_JOB, expire_unpaid_job, forget_keys_job
from emporium.wiring import Wiring


def install(wiring: Wiring) -> None:
    wiring.job(EXPIRE_UNPAID_JOB, expire_unpaid_job, max_attempts=3)
    wiring.job(FORGET_KEYS_JOB, forget_keys_job, max_attempts=3)
    wiring.periodic(EXPIRE_UNPAID_JOB, every_seconds=60)
    wiring.periodic(FORGET_KEYS_JOB, every_seconds=24 * 3600)
    wiring.privacy_hooks("orders", exporter=export_orders, eraser=erase_orders)
    # The payment receipt: the order's invoice, attached to the "payment received" e-mail.
    wiring.notification_attachments("payment.received", receipt)
