"""Background jobs: the transactional outbox (``enqueue``) and its runner."""

from emporium.core.jobs.outbox import enqueue
from emporium.core.jobs.registry import PermanentJobError, current_job_id, register_job
from emporium.core.jobs.settle import record_done_now

__all__ = ["PermanentJobError", "current_job_id", "enqueue", "record_done_now", "register_job"]
