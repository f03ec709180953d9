"""Job handlers by name. Domains declare theirs in ``tasks.py`` with ``@job("domain.what")``.

Nothing here knows what a handler receives besides its payload: the runner hands each one the argument it
was built with (the app context, core/context.py), so this package never imports the context.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
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


def job(name: str, *, max_attempts: int | None = None) -> Callable[[Handler], Handler]:
    """Register a handler. It receives the app context and the JSON payload, and opens its own session."""

    def register(handler: Handler) -> Handler:
        if name in HANDLERS and HANDLERS[name].handler is not handler:
            raise RuntimeError(f"job {name!r} is registered twice")
        HANDLERS[name] = JobSpec(name=name, handler=handler, max_attempts=max_attempts)
        return handler

    return register


class PermanentJobError(Exception):
    """Retrying cannot help (the payload points at something gone): the job goes straight to dead."""
