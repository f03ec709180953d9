"""The operations screens' reads and the job retention on a large outbox (PostgreSQL).

    createdb -h 127.0.0.1 -U postgres emporium_bench_operations
    export EMPORIUM_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/emporium_bench_operations
    .venv/bin/emporium migrate
    .venv/bin/python bench/operations_bench.py --done 500000 --pending 20000 --dead 200 --repeat 30

Fills the jobs table (``--done`` jobs finished 1 to 60 days ago, spread evenly, ``--pending`` waiting
across four kinds, ``--dead`` dead ones), then measures in-process, as a request spends it: the health
report (every probe and the job figures), the jobs screen's first page and a deep keyset page of the open
jobs and of the dead ones, and the counts by state; p50, p95 and max of ``--repeat`` runs after 3 unmeasured
ones. Last, the retention job deletes what finished more than 14 days ago, in its batches, and the time it
took and the rows it deleted are printed. ``--keep`` leaves the table as filled (run again to measure the
reads only). Targets only a PostgreSQL server on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

from backoffice_seed.common import require_loopback_postgres
from sqlalchemy import text

from emporium.core.context import build_context
from emporium.core.keyset import encode_cursor
from emporium.install import wire
from emporium.operations.health import health
from emporium.operations.jobs import jobs_admin
from emporium.operations.tasks import purge_done_jobs
from emporium.settings import AppSettings

KINDS = ("notifications.send_email", "orders.expire_unpaid", "cart.remove_expired", "orders.forget_keys")
FILL = """
INSERT INTO jobs (name, payload, status, attempts, max_attempts, run_after, created_at, finished_at,
                  last_error)
SELECT CAST(:kind_0 AS varchar), '{}'::json, CAST(:status AS varchar), CAST(:attempts AS int), 6,
       now() - make_interval(secs => CAST(:age AS float) * (g::float / CAST(:count AS int))),
       now() - make_interval(secs => CAST(:age AS float) * (g::float / CAST(:count AS int)))
             - interval '1 second',
       CASE WHEN CAST(:status AS varchar) = 'pending' THEN NULL
            ELSE now() - make_interval(secs => CAST(:age AS float) * (g::float / CAST(:count AS int)))
                 + interval '1 second' END,
       CASE WHEN CAST(:status AS varchar) = 'dead' THEN 'SMTPConnectError: refused' END
FROM generate_series(1, CAST(:count AS int)) AS g
"""


async def fill(ctx_url: str, done: int, pending: int, dead: int) -> None:
    settings = AppSettings(database_url=ctx_url)
    ctx = build_context(settings)
    try:
        async with ctx.db.session() as session:
            await session.execute(text("DELETE FROM jobs"))
            day = 86400
            # Done: finished 1 to 60 days ago; dead: up to 30 days ago; pending: created in the last hour.
            plans = [("done", done, 60 * day, 1), ("dead", dead, 30 * day, 6)]
            plans.append(("pending", pending // len(KINDS), 3600, 0))
            for status, count, age, attempts in plans:
                if count <= 0:
                    continue
                kinds = KINDS if status == "pending" else KINDS[:1]
                for kind in kinds:
                    await session.execute(
                        text(FILL),
                        {"kind_0": kind, "status": status, "attempts": attempts, "age": age, "count": count},
                    )
        async with ctx.db.session() as session:
            await session.execute(text("ANALYZE jobs"))
    finally:
        await ctx.close()


async def timed(label: str, repeat: int, work: Callable[[], Awaitable[object]]) -> None:
    for _ in range(3):
        await work()
    spent = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    p95 = spent[min(len(spent) - 1, round(0.95 * len(spent)) - 1)]
    median = statistics.median(spent)
    print(f"{label:<30} p50 {median:7.1f} ms   p95 {p95:7.1f} ms   max {spent[-1]:7.1f} ms")


async def measure(url: str, repeat: int) -> None:
    ctx = build_context(AppSettings(database_url=url))
    try:
        async with ctx.db.session() as session:
            total = (await session.execute(text("SELECT count(*) FROM jobs"))).scalar_one()
            oldest_dead = (
                await session.execute(text("SELECT min(id) FROM jobs WHERE status = 'dead'"))
            ).scalar_one()
        print(f"jobs in the table: {total:,}")

        async def report() -> object:
            return await health.report(ctx, "bench")

        def listing(
            state: str | None, kind: str | None = None, after: str | None = None
        ) -> Callable[[], Awaitable[object]]:
            async def run() -> object:
                async with ctx.db.session() as session:
                    return await jobs_admin.page(session, state, kind, after, 50)

            return run

        async def counts() -> object:
            async with ctx.db.session() as session:
                return await jobs_admin.counts(session)

        await timed("health report", repeat, report)
        await timed("jobs: open, first page", repeat, listing(None))
        await timed("jobs: dead, first page", repeat, listing("dead"))
        await timed("jobs: pending of one kind", repeat, listing("pending", KINDS[1]))
        if oldest_dead:
            deep = encode_cursor(None, oldest_dead + 60)
            await timed("jobs: dead, a page deep in", repeat, listing("dead", None, deep))
        await timed("jobs: counts by state", repeat, counts)
    finally:
        await ctx.close()


async def retention(url: str) -> None:
    ctx = build_context(AppSettings(database_url=url, jobs_retention_days=14))
    try:
        started = time.perf_counter()
        removed = await purge_done_jobs(ctx)
        print(f"retention: {removed:,} done jobs deleted in {time.perf_counter() - started:.2f} s")
    finally:
        await ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--done", type=int, default=500_000)
    parser.add_argument("--pending", type=int, default=20_000)
    parser.add_argument("--dead", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="measure the reads only; leave the table")
    args = parser.parse_args()
    url = os.environ.get("EMPORIUM_DATABASE_URL", "")
    require_loopback_postgres(url)
    wire()
    if not args.keep:
        asyncio.run(fill(url, args.done, args.pending, args.dead))
    asyncio.run(measure(url, args.repeat))
    if not args.keep:
        asyncio.run(retention(url))


if __name__ == "__main__":
    main()
