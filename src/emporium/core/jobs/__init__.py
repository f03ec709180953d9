"""Background jobs: the transactional outbox (``enqueue``) and its runner."""

from emporium.core.jobs.outbox import enqueue
from emporium.core.jobs.registry import PermanentJobError, job

__all__ = ["PermanentJobError", "enqueue", "job"]
