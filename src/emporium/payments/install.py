"""What the payments domain registers in the wiring step (emporium/install.py): webhook processing, refunds
and the test gateway's webhooks, its hooks into the order lifecycle, and the jobs of the gateways that
have some (the on-chain and Lightning watchers)."""

from __future__ import annotations

from emporium.payments.gateways.bitcoin.install import install as install_bitcoin
from emporium.payments.gateways.lightning.install import install as install_lightning
from emporium.payments.service import AUTO_REFUND_JOB
from emporium.payments.tasks import (
    DELIVER_TEST_WEBHOOK_JOB,
    deliver_test_webhook,
    prepare_placed,
    process_event,
    record_delivery,
    refund_cancelled,
    refund_unwanted,
)
from emporium.payments.webhooks import PROCESS_EVENT_JOB
from emporium.wiring import Wiring


def install(wiring: Wiring) -> None:
    wiring.job(PROCESS_EVENT_JOB, process_event)
    wiring.job(AUTO_REFUND_JOB, refund_unwanted)
    wiring.job(DELIVER_TEST_WEBHOOK_JOB, deliver_test_webhook)
    wiring.order_placed_hook(prepare_placed)
    wiring.order_cancelled_after_payment_hook(refund_cancelled)
    wiring.order_moved_hook(record_delivery)
    install_bitcoin(wiring)
    install_lightning(wiring)
