"""Importing a 10,000-row catalog CSV from the back office, on a shop of 100,000 products (PostgreSQL).

    createdb -T emporium_bench_backoffice my_import_bench        # a copy: the import writes to it
    export EMPORIUM_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/my_import_bench
    .venv/bin/emporium migrate
    EMPORIUM_AUTH_RATE_LIMIT=100000/minute EMPORIUM_RATE_LIMIT_STAFF=1000000000/minute \\
        EMPORIUM_RATE_LIMIT_FILE=/tmp/import-bench-limits.db \\
        .venv/bin/emporium serve --port 8041 >> /tmp/import-access.log 2>&1 &
    .venv/bin/python bench/catalog_import_bench.py --url http://127.0.0.1:8041 \\
        --server-log /tmp/import-access.log --rows 10000

The file holds ``--rows`` rows: half update variants the shop already has (a new price and 5 more in stock;
read from the database by a hash of their id, so every run picks the same ones), half create new products of
two variants each (named after the run, so each run creates its own). The script signs in as the seeded
admin, uploads the file (the dry-run preview: every row checked against the database), applies it (a file of
more than ``catalog_import_background_rows`` rows runs as a background job) and follows the progress
fragment until the report. It prints the time of the preview, of the import from "Apply" to the report (and
the job's own time from the ``jobs`` table), and the bare ``/health`` endpoint's latency measured in the
same run, once before the import and once while it runs.
Target: the import under 60 s. Only loopback addresses.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from backoffice_bench import LOGINS, STAFF_PASSWORD, ServerLog, _quantiles, require_loopback, sign_in
from backoffice_seed.common import asyncpg_dsn, require_loopback_postgres

TARGET_SECONDS = 60.0
HEADER = "product_slug,product_name,status,sku,variant_name,options,price,on_hand\n"
TOKEN = re.compile(r"/admin/catalog/import/([A-Za-z0-9_-]{20,64})")
PICK_SALT = "catalog-import-bench"


async def build_file(database_url: str, rows: int, run: str) -> str:
    """Half updates of existing variants, half new products of two variants each."""
    require_loopback_postgres(database_url)
    updates = rows // 2
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        existing = await conn.fetch(
            "SELECT p.slug, v.sku, v.price_minor, s.on_hand FROM product_variants v "
            "JOIN products p ON p.id = v.product_id JOIN stock_pools s ON s.id = v.pool_id "
            "ORDER BY hashtext(v.id::text || $1) LIMIT $2",
            PICK_SALT,
            updates,
        )
    finally:
        await conn.close()
    lines = [HEADER]
    for row in existing:
        price = (row["price_minor"] or 100) + 1
        amount = f"{price // 100}.{price % 100:02d}"
        lines.append(f"{row['slug']},,,{row['sku']},,,{amount},{row['on_hand'] + 5}\n")
    for n in range((rows - len(existing) + 1) // 2):
        slug = f"import-{run}-{n}"
        lines.append(f"{slug},Imported {run} {n},active,IMP-{run}-{n}-S,Small,size=S,12.50,10\n")
        lines.append(f"{slug},,,IMP-{run}-{n}-L,Large,size=L,14.50,10\n")
    return "".join(lines[: rows + 1])


async def health_latency(
    client: httpx.AsyncClient, log: ServerLog, stop: asyncio.Event | None, count: int
) -> tuple[list[float], list[float]]:
    """/health, back to back: ``count`` requests, or until ``stop`` is set. Client and server times."""
    client_ms: list[float] = []
    sent: list[str] = []
    while (stop is None and len(client_ms) < count) or (stop is not None and not stop.is_set()):
        request_id = f"bench-{uuid.uuid4().hex}"
        started = time.perf_counter()
        await client.get("/health", headers={"X-Request-ID": request_id})
        client_ms.append((time.perf_counter() - started) * 1000)
        sent.append(request_id)
        if stop is not None:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    logged = await asyncio.to_thread(log.durations)
    return client_ms, [logged[r] for r in sent if r in logged]


def _line(label: str, client_ms: list[float], server_ms: list[float]) -> str:
    c50, c95, cmax = _quantiles(client_ms)
    text = f"{label:34} n={len(client_ms):<5} client p50 {c50:7.1f}  p95 {c95:7.1f}  max {cmax:7.1f}"
    if server_ms:
        s50, s95, smax = _quantiles(server_ms)
        text += f" | server p50 {s50:6.1f}  p95 {s95:6.1f}  max {smax:7.1f}"
    return text


async def job_seconds(database_url: str) -> float | None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        row = await conn.fetchrow(
            "SELECT extract(epoch FROM finished_at - created_at) AS took FROM jobs "
            "WHERE name = 'catalog.import_csv' AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
        )
    finally:
        await conn.close()
    return float(row["took"]) if row and row["took"] is not None else None


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8041")
    parser.add_argument("--server-log", type=Path, default=None)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--login", default=LOGINS[0])
    parser.add_argument("--password", default=STAFF_PASSWORD)
    parser.add_argument("--database-url", default=None, help="default: EMPORIUM_DATABASE_URL")
    args = parser.parse_args()
    database_url = args.database_url or os.environ.get("EMPORIUM_DATABASE_URL", "")
    require_loopback(args.url)
    run = uuid.uuid4().hex[:8]
    text = await build_file(database_url, args.rows, run)
    print(f"file: {text.count(chr(10)) - 1} rows, {len(text.encode()) / 1024:.0f} KB (run {run})")
    log = ServerLog(args.server_log)
    client = await sign_in(args.url, args.login, args.password)
    probe = httpx.AsyncClient(base_url=args.url, timeout=60)
    try:
        idle = await health_latency(probe, log, None, 200)
        page = await client.get("/admin/catalog/import")
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
        if page.status_code != 200 or csrf is None:
            raise SystemExit(f"GET /admin/catalog/import answered {page.status_code}")
        started = time.perf_counter()
        checked = await client.post(
            "/admin/catalog/import",
            files={"file": ("bench.csv", text.encode(), "text/csv")},
            data={"csrf_token": csrf.group(1)},
            timeout=300,
        )
        preview_s = time.perf_counter() - started
        found = TOKEN.search(checked.headers.get("location", ""))
        if checked.status_code != 303 or found is None:
            row_cells = r"<tr><td class=\"num\">(\d+)</td><td>(.*?)</td><td>(.*?)</td></tr>"
            cells = re.findall(row_cells, checked.text)
            raise SystemExit(f"the preview refused the file ({checked.status_code}): {cells[:10]}")
        token = found.group(1)
        stop = asyncio.Event()
        during = asyncio.create_task(health_latency(probe, log, stop, 0))
        started = time.perf_counter()
        applied = await client.post(
            f"/admin/catalog/import/{token}/apply", data={"csrf_token": csrf.group(1)}
        )
        if applied.status_code != 303:
            raise SystemExit(f"apply answered {applied.status_code}: {applied.text[:500]}")
        outcome = ""
        while not outcome:
            fragment = await client.get(f"/admin/catalog/import/{token}/progress")
            if "<h2>Imported" in fragment.text:
                outcome = "imported"
            elif "Nothing was imported" in fragment.text:
                outcome = "FAILED"
            else:
                await asyncio.sleep(0.25)
        import_s = time.perf_counter() - started
        stop.set()
        busy = await during
        counts = re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", fragment.text)
    finally:
        await client.aclose()
        await probe.aclose()
    job_s = await job_seconds(database_url)
    print(f"preview (upload + dry run of every row): {preview_s:6.1f} s")
    print(
        f"import, Apply to report ({outcome}):    {import_s:6.1f} s   target < {TARGET_SECONDS:.0f} s: "
        f"{'ok' if import_s < TARGET_SECONDS and outcome == 'imported' else 'OVER'}"
    )
    if job_s is not None:
        print(f"the job itself (jobs table):            {job_s:6.1f} s")
    print("report: " + ", ".join(f"{k.lower()} {v}" for k, v in counts))
    print(_line("/health before the import (ms)", *idle))
    print(_line("/health during the import (ms)", *busy))
    return 0 if outcome == "imported" and import_s < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
