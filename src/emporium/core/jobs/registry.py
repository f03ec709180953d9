"""Job handlers by name: filled by the wiring step (emporium/install.py), read by ``enqueue`` and the runner.

A domain's handlers are plain functions in its ``tasks.py``; its ``install.py`` registers them. Nothing here
knows what a handler receives besides its payload: the runner hands each one the argument it was built with
(the app context, core/context.py), so this package never imports the context.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

# (what the runner hands every handler, the JSON payload); the handler opens its own session.
Handler = Callable[[Any, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    handler: Handler
    max_attempts: int | None = None


HANDLERS: dict[str, JobSpec] = {}

# The id of the job whose handler is running, for handlers that record it (the runner sets it).
CURRENT_JOB_ID: ContextVar[int | None] = ContextVar("emporium_current_job_id", default=None)


def current_job_id() -> int | None:
    return CURRENT_JOB_ID.get()


@dataclass
class RunningClaim:
    """The claim the running handler works under (the runner sets it): what ``record_done_now``
    (core/jobs/settle.py) needs to mark the job done before the handler returns."""

    job_id: int
    token: str
    settled: bool = field(default=False)


CURRENT_CLAIM: ContextVar[RunningClaim | None] = ContextVar("emporium_current_claim", default=None)


def register_job(name: str, handler: Handler, *, max_attempts: int | None = None) -> None:
    """Register ``handler`` as ``name``. The same registration again changes nothing (the wiring step may
    run more than once in a process); another handler or limit under a taken name is a mistake."""
    spec = JobSpec(name=name, handler=handler, max_attempts=max_attempts)
    existing = HANDLERS.get(name)
    if existing is not None and existing != spec:
        raise RuntimeError(f"job {name!r} is registered twice")
    HANDLERS[name] = spec


class PermanentJobError(Exception):
    """Retrying cannot help (the payload points at something gone): the job goes straight to dead."""
