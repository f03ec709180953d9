"""What the operations domain registers in the wiring step (emporium/install.py): the hourly deletion of
done jobs past their retention."""

from __future__ import annotations

from emporium.operations.tasks import RETENTION_JOB, purge_done_jobs_job
from emporium.wiring import Wiring


def install(wiring: Wiring) -> None:
    wiring.job(RETENTION_JOB, purge_done_jobs_job, max_attempts=3)
    wiring.periodic(RETENTION_JOB, every_seconds=3600)
