"""Running the outbox: claim due jobs, hand them to taskiq, record the outcome.

The table is the truth; taskiq is the transport. Without a broker URL taskiq's in-memory broker runs each
job in this process. With one (redis:// or amqp://) the claimed job ids travel through it to
`emporium worker` processes. A runner that dies mid-job leaves a claim that lapses at ``locked_until``; the
next relay claims it again, so a job is never lost (delivery is at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
import traceback
import weakref
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import and_, case, event, or_, select, update
from sqlalchemy.orm import Session
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, InMemoryBroker

from emporium.core.config import Settings
from emporium.core.db import Database, utcnow
from emporium.core.jobs.brokers import make_broker
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.jobs.outbox import ENQUEUED_FLAG
from emporium.core.jobs.registry import (
    CURRENT_CLAIM,
    CURRENT_JOB_ID,
    JobSpec,
    PermanentJobError,
    RunningClaim,
)
from emporium.core.jobs.schedule import PERIODIC, enqueue_due, seconds_to_next_period
from emporium.core.metrics import JOBS
from emporium.core.sentry import report_job_failure

log = structlog.get_logger(__name__)
TASK_NAME = "emporium.run_job"
# A relay looks for periodic jobs that are due when the next period begins (periods are aligned, so every
# process knows when that is: core/jobs/schedule.py), and at least this often (each look is a few
# statements), so a look that failed is soon made again.
SCHEDULE_CHECK_SECONDS = 15.0
# Looking this long after a period begins leaves no doubt that it has, whatever the clocks' rounding.
SCHEDULE_CHECK_MARGIN_SECONDS = 0.01
# A claim lapses when its run never reported back; after this many such runs (counted apart from attempts,
# which count handler failures) the job is dead: it kills its worker, or its worker keeps being killed.
MAX_LAPSES = 5
_RUNNERS: weakref.WeakSet[JobRunner] = weakref.WeakSet()


class JobRunner:
    """Claims and runs the jobs of ``db``'s outbox. ``handlers`` maps job names to their handlers (read at
    each run, so it may be filled after the runner is built); each handler is called with
    ``handler_argument`` (the app context, which builds the runner: core/context.py) and the payload;
    ``prepare``, when given, turns that argument into the one a run gets (the context with the effective
    settings of the moment)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        handlers: Mapping[str, JobSpec],
        handler_argument: object,
        broker: AsyncBroker | None = None,
        prepare: Callable[[Any], Awaitable[Any]] | None = None,
    ) -> None:
        self.db = db
        self.prepare = prepare
        self.settings = settings
        self.handlers = handlers
        self.handler_argument = handler_argument
        self.broker = broker or make_broker(settings.jobs_broker_url, settings.jobs_broker_queue)
        self.in_process = isinstance(self.broker, InMemoryBroker)

        async def run_job(job_id: int, token: str) -> None:
            await self.execute(job_id, token)

        self._task: AsyncTaskiqDecoratedTask[[int, str], Any] = self.broker.register_task(
            run_job, task_name=TASK_NAME
        )
        self._wake = asyncio.Event()
        self._started = False
        # Periodic jobs this relay claimed and runs itself (see ``run_once``).
        self._local_runs: set[asyncio.Task[None]] = set()
        _RUNNERS.add(self)

    async def start(self, *, consumer: bool = False) -> None:
        """Connect the broker; ``consumer`` for the process that takes jobs off it (`emporium worker`):
        taskiq's brokers open their listening side (AMQP's read channel) only in a worker process."""
        if consumer:
            self.broker.is_worker_process = True
        if not self._started:
            await self.broker.startup()
            self._started = True

    async def stop(self) -> None:
        if self._started:
            await self.broker.shutdown()
            self._started = False

    def nudge(self) -> None:
        self._wake.set()

    def backoff_seconds(self, attempts: int) -> float:
        """Exponential, with jitter so failed jobs do not all come back at once; never above the cap."""
        base = self.settings.jobs_backoff_base_seconds * (2 ** min(max(attempts - 1, 0), 62))
        jitter: float = random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
        return float(min(base * jitter, self.settings.jobs_backoff_max_seconds))

    async def claim(self, limit: int = 20) -> list[tuple[int, str]]:
        """Atomically take up to ``limit`` due jobs; safe with many relays on PostgreSQL and SQLite."""
        return [(job_id, token) for job_id, token, _ in await self._claim_named(limit)]

    async def _claim_named(self, limit: int) -> list[tuple[int, str, str]]:
        """``claim``, with each job's name: (id, token, name), by id."""
        now = utcnow()
        token = secrets.token_hex(16)
        async with self.db.session() as session:
            # A job whose runs were cut short MAX_LAPSES times keeps killing its worker: stop there.
            # Rows another relay holds are skipped, here as below, so relays never wait on each other.
            lapsed_too_often = (
                select(Job.id)
                .where(Job.status == JobStatus.RUNNING, Job.locked_until < now, Job.lapses >= MAX_LAPSES)
                .with_for_update(skip_locked=True)
            )
            await session.execute(
                update(Job)
                .where(Job.id.in_(lapsed_too_often.scalar_subquery()))
                .values(
                    status=JobStatus.DEAD,
                    finished_at=now,
                    last_error=f"its run was cut short {MAX_LAPSES} times (the worker died or was killed)",
                )
                .execution_options(synchronize_session=False)
            )
            due = (
                select(Job.id)
                .where(
                    or_(
                        and_(Job.status == JobStatus.PENDING, Job.run_after <= now),
                        and_(
                            Job.status == JobStatus.RUNNING, Job.locked_until < now, Job.lapses < MAX_LAPSES
                        ),
                    )
                )
                .order_by(Job.run_after, Job.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            result = await session.execute(
                update(Job)
                .where(Job.id.in_(due.scalar_subquery()))
                .values(
                    status=JobStatus.RUNNING,
                    # A lapsed claim is sent again as the same attempt: no handler failed.
                    attempts=case((Job.status == JobStatus.PENDING, Job.attempts + 1), else_=Job.attempts),
                    claim_token=token,
                    locked_until=now + timedelta(seconds=self.settings.jobs_lease_seconds),
                )
                .returning(Job.id, Job.name)
                .execution_options(synchronize_session=False)
            )
            rows = sorted((row.id, row.name) for row in result)
        return [(job_id, token, name) for job_id, name in rows]

    async def dispatch(self, claimed: list[tuple[int, str]]) -> None:
        for sent, (job_id, token) in enumerate(claimed):
            try:
                await self._task.kiq(job_id, token)
            except BaseException:
                # The broker is unreachable (restarting, say): let the claims not sent lapse now rather
                # than at the end of their lease, so the next round sends them again, as the same attempt.
                await self._lapse_now(claimed[sent:])
                raise

    async def _lapse_now(self, claims: list[tuple[int, str]]) -> None:
        if not claims:
            return
        token = claims[0][1]  # one claim, one token
        async with self.db.session() as session:
            await session.execute(
                update(Job)
                .where(Job.id.in_([job_id for job_id, _ in claims]), Job.claim_token == token)
                .values(locked_until=utcnow())
                .execution_options(synchronize_session=False)
            )

    async def execute(self, job_id: int, token: str) -> None:
        """Run one claimed job and record how it ended. Stale deliveries (an older claim) are dropped."""
        # The run counts as a lapse until its outcome is recorded: if this process dies meanwhile, the
        # count stays. A claim that lapses with its message never taken (no worker up) counts nothing.
        # The lease starts again with the run, as the handler's time limit does: a message that waited in
        # the broker past the claim's lease must not run while a relay claims the job again and sends it
        # to another worker (one of the two wins this row; the other finds another token).
        async with self.db.session() as session:
            started = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.claim_token == token)
                .values(
                    lapses=Job.lapses + 1,
                    locked_until=utcnow() + timedelta(seconds=self.settings.jobs_lease_seconds),
                )
                .returning(Job.name, Job.payload, Job.attempts, Job.max_attempts)
                .execution_options(synchronize_session=False)
            )
            row = started.one_or_none()
        if row is None:
            log.info("job_stale_delivery", job_id=job_id)
            return
        name, payload, attempts, max_attempts = row.name, dict(row.payload), row.attempts, row.max_attempts
        spec = self.handlers.get(name)
        error: str | None = None
        failure: BaseException | None = None
        permanent = False
        claim = RunningClaim(job_id, token)
        running, claimed = CURRENT_JOB_ID.set(job_id), CURRENT_CLAIM.set(claim)
        # Past its lease another relay may claim the job again: give up on this run before that.
        lease = asyncio.timeout(self.settings.jobs_lease_seconds)
        try:
            if spec is None:
                raise PermanentJobError(f"no handler registered for {name!r}")
            async with lease:
                argument = self.handler_argument
                if self.prepare is not None:
                    argument = await self.prepare(argument)
                await spec.handler(argument, payload)
        except PermanentJobError as exc:
            error, permanent, failure = f"{type(exc).__name__}: {exc}", True, exc
        except Exception as exc:
            failure = exc
            if isinstance(exc, TimeoutError) and lease.expired():
                error = (
                    f"TimeoutError: still running when its {self.settings.jobs_lease_seconds:g} s lease ended"
                )
            else:
                error = "".join(traceback.format_exception_only(exc)).strip()
            log.warning("job_failed", job_id=job_id, job=name, attempt=attempts, error=error)
        finally:
            CURRENT_JOB_ID.reset(running)
            CURRENT_CLAIM.reset(claimed)
        if claim.settled and error is None:
            # The handler recorded the job done itself (core/jobs/settle.py). Had it failed after that, the
            # update below would find the claim gone and leave the job done.
            JOBS.labels(name, "done").inc()
            return
        outcome = await self._record_outcome(name, job_id, token, attempts, max_attempts, error, permanent)
        if failure is not None and not claim.settled and outcome == "dead":
            # Reported once, when the job is dead: a retried failure that later succeeds (a provider's
            # brief outage) needs nobody; a dead one waits for staff at /admin/jobs.
            report_job_failure(failure, job=name, job_id=job_id, attempts=attempts)

    async def _record_outcome(
        self,
        name: str,
        job_id: int,
        token: str,
        attempts: int,
        max_attempts: int,
        error: str | None,
        permanent: bool,
    ) -> str:
        """Record how the run ended; the outcome, as counted: done, retry or dead."""
        now = utcnow()
        values: dict[str, Any]
        if error is None:
            values = {"status": JobStatus.DONE, "finished_at": now, "last_error": None}
            outcome = "done"
        elif permanent or attempts >= max_attempts:
            values = {"status": JobStatus.DEAD, "finished_at": now, "last_error": error[:4000]}
            log.error("job_dead", job_id=job_id, attempts=attempts, error=error)
            outcome = "dead"
        else:
            retry_at = now + timedelta(seconds=self.backoff_seconds(attempts))
            values = {"status": JobStatus.PENDING, "run_after": retry_at, "last_error": error[:4000]}
            outcome = "retry"
        JOBS.labels(name, outcome).inc()
        values.update(locked_until=None, claim_token=None, lapses=Job.lapses - 1)
        async with self.db.session() as session:
            await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.claim_token == token)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return outcome

    async def consume(self, stop: asyncio.Event, concurrency: int) -> None:
        """Execute jobs delivered by an external broker (the `emporium worker` side)."""
        from taskiq.receiver import Receiver

        receiver = Receiver(self.broker, run_startup=False, max_async_tasks=concurrency)
        await receiver.listen(stop)

    async def run_once(self, limit: int = 20) -> int:
        """Claim the due jobs and have them run; how many were claimed.

        Periodic jobs are not sent through a broker: this relay runs them itself. They must run even where
        no `emporium worker` consumes the broker (web processes only), and they are the shop's own short
        housekeeping. The schedule already lets one relay enqueue each period's run, and the claim lets one
        relay take it, so running it here keeps it to one run a period.
        """
        await self.start()
        claimed = await self._claim_named(limit)
        if self.in_process:
            await self.dispatch([(job_id, token) for job_id, token, _ in claimed])
            return len(claimed)
        for job_id, token, name in claimed:
            if name in PERIODIC:
                task = asyncio.create_task(self.execute(job_id, token), name=f"emporium-job-{job_id}")
                self._local_runs.add(task)
                task.add_done_callback(self._local_runs.discard)
        await self.dispatch([(job_id, token) for job_id, token, name in claimed if name not in PERIODIC])
        return len(claimed)

    async def finish_local_runs(self) -> None:
        """Wait for the periodic jobs this relay runs itself (a stopping process finishes what it holds)."""
        while self._local_runs:
            await asyncio.gather(*list(self._local_runs), return_exceptions=True)

    async def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Run every job that is due now (tests, `emporium worker --once`); returns how many were claimed."""
        total = 0
        for _ in range(max_rounds):
            count = await self.run_once()
            if count == 0:
                break
            total += count
        return total

    async def enqueue_periodic(self) -> list[str]:
        """Put the periodic jobs that are due into the outbox (core/jobs/schedule.py)."""
        async with self.db.session() as session:
            return await enqueue_due(session, utcnow())

    async def run_forever(self, stop: asyncio.Event) -> None:
        await self.start()
        next_schedule_check = 0.0
        try:
            while not stop.is_set():
                try:
                    if time.monotonic() >= next_schedule_check:
                        await self.enqueue_periodic()
                        # Set after a look that worked: a failed one is made again on the next round.
                        wait = min(SCHEDULE_CHECK_SECONDS, seconds_to_next_period(utcnow()))
                        next_schedule_check = time.monotonic() + wait + SCHEDULE_CHECK_MARGIN_SECONDS
                    count = await self.run_once()
                except Exception:
                    log.exception("job_relay_error")
                    count = 0
                if count:
                    continue
                self._wake.clear()
                until_check = max(0.0, next_schedule_check - time.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        _first_of(self._wake, stop), timeout=min(self.settings.jobs_poll_seconds, until_check)
                    )
        finally:
            await self.finish_local_runs()


async def _first_of(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


@event.listens_for(Session, "after_commit")
def _wake_runners(session: Session) -> None:
    if session.info.pop(ENQUEUED_FLAG, False):
        for runner in list(_RUNNERS):
            runner.nudge()
