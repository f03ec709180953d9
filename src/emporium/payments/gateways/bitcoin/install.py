"""What the on-chain gateways register (called by payments' install): the watcher, which asks the node
about open payments every ``WATCH_EVERY_SECONDS``, and the job that acts on a signed crypto notice."""

from __future__ import annotations

from emporium.payments.gateways.bitcoin.tasks import (
    NOTICE_JOB,
    WATCH_EVERY_SECONDS,
    WATCH_JOB,
    crypto_notice,
    watch_crypto,
)
from emporium.wiring import Wiring


def install(wiring: Wiring) -> None:
    # One attempt: the next periodic round is the retry, so a node that is down queues nothing up.
    wiring.job(WATCH_JOB, watch_crypto, max_attempts=1)
    wiring.job(NOTICE_JOB, crypto_notice)
    wiring.periodic(WATCH_JOB, every_seconds=WATCH_EVERY_SECONDS)
