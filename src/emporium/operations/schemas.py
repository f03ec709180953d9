"""What the health report and the jobs screen show: one shape for the page and the JSON of monitors."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

ComponentName = Literal["database", "cache", "broker"]


class ComponentHealth(BaseModel):
    """A service the shop depends on, as one probe found it."""

    name: ComponentName
    up: bool
    # What it is: "PostgreSQL at 127.0.0.1:5432/shop", "in-process", "Redis at 10.0.0.5:6379/0".
    backend: str
    latency_ms: float | None = Field(default=None, description="How long the probe took, when it answered.")
    error: str | None = Field(default=None, description="Why it is down; never carries a password.")


class KindBacklog(BaseModel):
    kind: str
    pending: int


class OldestPendingJob(BaseModel):
    id: int
    kind: str
    created_at: datetime
    run_after: datetime
    age_seconds: int


class JobsHealth(BaseModel):
    """The outbox: what waits, what runs, what died. ``error`` is set (and the counts are zero) when the
    database could not be read."""

    backlog: list[KindBacklog] = []
    pending: int = 0
    oldest_pending: OldestPendingJob | None = None
    running: int = 0
    # Running jobs whose lease has ended: their runner died, and a relay will claim them again.
    running_overdue: int = 0
    dead: int = 0
    error: str | None = None


class DiskHealth(BaseModel):
    """The disk holding the media folder (local storage only)."""

    storage: Literal["local", "s3"]
    path: str | None = None
    exists: bool = False
    total_bytes: int | None = None
    used_bytes: int | None = None
    free_bytes: int | None = None
    error: str | None = None

    @property
    def used_percent(self) -> float | None:
        if not self.total_bytes or self.used_bytes is None:
            return None
        return round(100 * self.used_bytes / self.total_bytes, 1)


class MigrationHealth(BaseModel):
    database: list[str] = Field(default=[], description="The revisions the database is at.")
    code: list[str] = Field(description="The revisions the code's migrations end at.")
    current: bool
    error: str | None = None


class HealthReport(BaseModel):
    # ok: every part answers and the schema is current; degraded: something needs attention; down: the
    # database does not answer.
    status: Literal["ok", "degraded", "down"]
    checked_at: datetime
    version: str
    components: list[ComponentHealth]
    jobs: JobsHealth
    disk: DiskHealth
    migrations: MigrationHealth


JobState = Literal["pending", "running", "dead", "done"]


class JobRow(BaseModel):
    """A job as the jobs screen lists it (its payload, which may name a customer, is not shown)."""

    id: int
    kind: str
    state: str
    attempts: int
    max_attempts: int
    run_after: datetime
    created_at: datetime
    finished_at: datetime | None
    locked_until: datetime | None
    last_error: str | None
