"""Prometheus metrics at /metrics: requests by route template, job outcomes, the shop's business events,
and the job backlog, read from the database at each scrape.

One process keeps its values in memory. Processes that share EMPORIUM_METRICS_DIR (``serve --workers N``,
several ``serve``, ``emporium worker``) use prometheus_client's multiprocess mode: each writes its values to
files of its own in that directory, and /metrics, whichever process answers, sums every process's files
(docs/decisions.md, "Metrics are summed over every process")."""

from __future__ import annotations

import asyncio
import atexit
import hmac
import os
from datetime import datetime
from pathlib import Path

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy import case, event, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from emporium.core.config import Settings
from emporium.core.db import Database, utcnow
from emporium.core.errors import NotFound, Unauthorized
from emporium.core.jobs.models import Job, JobStatus

log = structlog.get_logger("emporium.metrics")

# prometheus_client's own switch: a value created while it is set lives in a file of this directory.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# A scrape waits this long for the backlog figures, then answers without them.
BACKLOG_TIMEOUT_SECONDS = 5.0

REGISTRY = CollectorRegistry(auto_describe=True)

# Every metric has labels: prometheus_client creates a labelled metric's values at its first ``labels()``,
# so a process that turns on the shared directory at start (``use_directory``) keeps none in memory.
REQUESTS = Counter(
    "emporium_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
LATENCY = Histogram(
    "emporium_http_request_duration_seconds",
    "Time to answer HTTP requests, by method and route template.",
    ("method", "route"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
JOBS = Counter(
    "emporium_jobs_total",
    "Background job runs, by job name and outcome (done, retry, dead).",
    ("job", "outcome"),
    registry=REGISTRY,
)
ORDERS_PLACED = Counter(
    "emporium_orders_placed_total",
    "Orders placed (committed), by payment method.",
    ("payment_method",),
    registry=REGISTRY,
)
PAYMENTS = Counter(
    "emporium_payments_total",
    "Payment attempts recorded in the ledger, by gateway and outcome (captured, failed).",
    ("gateway", "outcome"),
    registry=REGISTRY,
)
REFUNDS = Counter(
    "emporium_refunds_total",
    "Refunds recorded as succeeded in the ledger, by gateway.",
    ("gateway",),
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "emporium_notifications_total",
    "Notification delivery attempts, by channel and outcome (sent, failed; a failed one is retried).",
    ("channel", "outcome"),
    registry=REGISTRY,
)

READ_SESSIONS = Counter(
    "emporium_db_read_sessions_total",
    "Sessions of requests the replica may serve, by the server they read from (replica, primary).",
    ("server",),
    registry=REGISTRY,
)
REPLICA_LAG = Gauge(
    "emporium_replica_lag_seconds",
    "How far behind the replica was at its last measure (-1: unreachable), the highest of the processes.",
    ("replica",),
    multiprocess_mode="max",
    registry=REGISTRY,
)


def replica_lag_observed(lag: float | None) -> None:
    REPLICA_LAG.labels("replica").set(-1.0 if lag is None else lag)


_shared_directory: Path | None = None


def _owner_pid(file: Path) -> int | None:
    """The process that writes a value file: prometheus_client names them ``<kind>_<pid>.db``."""
    _, _, pid = file.stem.rpartition("_")
    return int(pid) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _empty_unless_in_use(directory: Path) -> None:
    """The first process to start empties the directory: no other living process owns a file in it. Only
    the files seen here are removed, so a process that writes its first file meanwhile keeps it."""
    files = list(directory.glob("*.db"))
    owners = {_owner_pid(file) for file in files}
    if any(pid is not None and pid != os.getpid() and _alive(pid) for pid in owners):
        return
    for file in files:
        file.unlink(missing_ok=True)


def use_directory(directory: Path) -> None:
    """Keep this process's metrics in ``directory``, shared with the host's other processes. Called at a
    process's start (``serve_app``, ``emporium worker``), before it counts anything."""
    global _shared_directory
    if _shared_directory == directory:
        return
    directory.mkdir(parents=True, exist_ok=True)
    _empty_unless_in_use(directory)
    os.environ[MULTIPROCESS_ENV] = str(directory)
    # The library picks its value class when first imported, from the variable set just now.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    _shared_directory = directory
    atexit.register(mark_process_dead, os.getpid(), str(directory))


def process_ended() -> None:
    """Tell the shared directory this process is gone (its counts stay: they are totals so far)."""
    if _shared_directory is not None:
        mark_process_dead(os.getpid(), str(_shared_directory))  # type: ignore[no-untyped-call]


_AFTER_COMMIT = "emporium_metrics_after_commit"


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for counter in session.info.pop(_AFTER_COMMIT, ()):
        counter.inc()


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    # What is still waiting when the outermost transaction ends was rolled back.
    if transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)


def count_after_commit(session: AsyncSession, counter: Counter) -> None:
    """Count ``counter`` (a labelled child) once the session's transaction commits, never if it rolls
    back: a placed order that a later step undoes was not placed."""
    session.info.setdefault(_AFTER_COMMIT, []).append(counter)


class Backlog(Collector):
    """The job backlog as read from the database for this scrape: one figure for the whole shop, whichever
    process answers, where a gauge set by each process would be summed or go stale."""

    def __init__(self, queued: int, oldest_due: datetime | None, now: datetime) -> None:
        self.queued = queued
        self.waited = max((now - oldest_due).total_seconds(), 0.0) if oldest_due else 0.0

    def collect(self) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "emporium_jobs_queued", "Background jobs waiting to run (pending).", value=self.queued
            ),
            GaugeMetricFamily(
                "emporium_jobs_oldest_queued_age_seconds",
                "How long the pending job that has been due longest has waited since it was due.",
                value=self.waited,
            ),
        ]


async def _backlog(db: Database) -> Backlog:
    now = utcnow()
    due = case((Job.run_after <= now, Job.run_after))
    async with db.read_session() as session:
        rows = await session.execute(
            select(func.count(), func.min(due)).where(Job.status == JobStatus.PENDING)
        )
        queued, oldest_due = rows.one()
    return Backlog(int(queued), oldest_due, now)


async def exposition(db: Database) -> bytes:
    """The text Prometheus reads: every process's values (this one's alone without a shared directory),
    then the backlog, left out (and logged) when the database does not answer in time."""
    if _shared_directory is not None:
        processes = CollectorRegistry()
        MultiProcessCollector(processes, path=str(_shared_directory))  # type: ignore[no-untyped-call]
        text = generate_latest(processes)
    else:
        text = generate_latest(REGISTRY)
    try:
        async with asyncio.timeout(BACKLOG_TIMEOUT_SECONDS):
            backlog = await _backlog(db)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("metrics_backlog_unavailable", error=repr(exc))
        return text
    figures = CollectorRegistry()
    figures.register(backlog)
    return text + generate_latest(figures)


router = APIRouter(include_in_schema=False)


def _allowed(settings: Settings, authorization: str | None) -> bool:
    """With EMPORIUM_METRICS_TOKEN set, only "Bearer <token>" reads the metrics; without it they are open
    outside production and hidden in production (request counts and routes are no one else's business)."""
    token = settings.metrics_token
    if token is None:
        return settings.env != "production"
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.encode(), token.get_secret_value().encode()
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not _allowed(settings, request.headers.get("authorization")):
        if settings.metrics_token is None:
            raise NotFound()
        raise Unauthorized("A metrics token is required.", headers={"WWW-Authenticate": "Bearer"})
    body = await exposition(request.app.state.ctx.db)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
