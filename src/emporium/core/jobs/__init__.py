"""Background jobs: the transactional outbox (``enqueue``) and its runner."""

from emporium.core.jobs.outbox import enqueue
from emporium.core.jobs.registry import PermanentJobError, current_job_id, register_job

__all__ = ["PermanentJobError", "current_job_id", "enqueue", "register_job"]
