"""The back office's product screens at 100,000 products: the list's server time per page (search, filters,
sorts, a second keyset page) next to the bare ``/health`` in the same run, and a bulk price change over a
filter of 10,000+ products run as a background job, timed from the click on "Apply" to the job's end, with
``/health`` measured while it runs.

    createdb -T emporium_bench_backoffice products_bench           # a copy: this run changes prices
    export EMPORIUM_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/products_bench
    .venv/bin/emporium migrate
    EMPORIUM_AUTH_RATE_LIMIT=100000/minute EMPORIUM_RATE_LIMIT_STAFF=1000000000/minute \\
        EMPORIUM_RATE_LIMIT_FILE=/tmp/products-bench-limits.db \\
        .venv/bin/emporium serve --port 8050 --workers 2 >> /tmp/products-access.log 2>&1 &
    .venv/bin/python bench/products_admin_bench.py --url http://127.0.0.1:8050 \\
        --server-log /tmp/products-access.log --requests 100 --warmup 10

The list is measured as bench/backoffice_bench.py measures pages (its sign-in, its server times from the
access log by request id, its table). The bulk change raises every price of the filter by an amount and then
lowers it by the same amount, so the catalog ends as it began (an amount change keeps every compare-at price
above its price, so none is dropped); each direction is timed. The filter defaults to the smallest category
(with its subcategories) holding at least ``--bulk-size`` products; ``--bulk-filter`` names another. The
job's own time is also read from its row (``created_at`` to ``finished_at``). Targets only loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl

import asyncpg
import httpx
from backoffice_bench import (
    CSRF_META,
    LOGINS,
    STAFF_PASSWORD,
    Page,
    Result,
    ServerLog,
    measure,
    report,
    require_loopback,
    sign_in,
)
from backoffice_seed.common import asyncpg_dsn, require_loopback_postgres

LIST_PAGES = (
    "/health",
    "/admin/products",
    "/admin/products?status=active",
    "/admin/products?sort=name",
    "/admin/products?sort=price_asc",
    "/admin/products?sort=price_desc",
    "/admin/products?sort=stock",
    "/admin/products?q={word}",
    "/admin/products?q={sku}",
    "/admin/products?category={category}",
    "/admin/products?brand={brand}&sort=name",
    "/admin/products?stock=low",
    "/admin/products?stock=out",
    "/admin/products?featured=yes",
    "/admin/products?after={cursor}",
)
TARGET_LIST_MS = 100.0
TARGET_BULK_S = 10.0
PICK_SALT = "products-bench"


async def pick_values(url: str) -> dict[str, list[str]]:
    """20 of each kind from the database, the same ones every run."""
    require_loopback_postgres(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        names = await conn.fetch(
            "SELECT name FROM products ORDER BY hashtext(id::text || $1) LIMIT 20", PICK_SALT
        )
        skus = await conn.fetch(
            "SELECT sku FROM product_variants ORDER BY hashtext(id::text || $1) LIMIT 20", PICK_SALT
        )
        categories = await conn.fetch("SELECT id FROM categories ORDER BY id LIMIT 20")
        brands = await conn.fetch("SELECT id FROM brands ORDER BY id LIMIT 20")
    finally:
        await conn.close()
    words = [max(re.findall(r"[A-Za-z]{4,}", r["name"]) or [r["name"]], key=len) for r in names]
    return {
        "word": words,
        "sku": [r["sku"] for r in skus],
        "category": [str(r["id"]) for r in categories],
        "brand": [str(r["id"]) for r in brands],
    }


async def second_page_cursors(client: httpx.AsyncClient) -> list[str]:
    """The "Next page" cursor of the first page (newest first), as staff reach page two."""
    first = await client.get("/admin/products")
    found = re.search(r'href="/admin/products\?after=([A-Za-z0-9_-]+)"', first.text)
    if found is None:
        raise SystemExit("the product list shows no next page: is the database seeded?")
    return [found.group(1)]


async def bulk_filter(url: str, size: int) -> str:
    """The smallest category (with its subcategories) holding at least ``size`` products, as a query."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT c.id, (SELECT count(*) FROM products p JOIN categories m ON m.id = p.category_id "
            "WHERE m.path LIKE c.path || '%') AS n FROM categories c ORDER BY 2 ASC",
        )
    finally:
        await conn.close()
    for found in rows:
        if found["n"] >= size:
            return f"category={found['id']}"
    raise SystemExit(f"no category holds {size} products: give --bulk-filter")


async def job_seconds(url: str, edit_id: int) -> tuple[str, float | None, int, int]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        row = await conn.fetchrow(
            "SELECT status, EXTRACT(EPOCH FROM finished_at - created_at) AS took, total, changed "
            "FROM product_bulk_edits WHERE id = $1",
            edit_id,
        )
    finally:
        await conn.close()
    if row is None:
        raise SystemExit(f"bulk edit {edit_id} is not in the database the server uses")
    took = None if row["took"] is None else float(row["took"])
    return str(row["status"]), took, int(row["total"]), int(row["changed"])


async def health_while(client: httpx.AsyncClient, stop: asyncio.Event, log_ids: list[str]) -> None:
    while not stop.is_set():
        request_id = f"bench-{uuid.uuid4().hex}"
        await client.get("/health", headers={"X-Request-ID": request_id})
        log_ids.append(request_id)
        await asyncio.sleep(0.05)


async def bulk_change(
    client: httpx.AsyncClient,
    query: str,
    direction: str,
    amount: str,
    log: ServerLog,
    db_url: str,
    give_up_after: float,
) -> None:
    page = await client.get("/admin/products?" + query)
    found = CSRF_META.search(page.text)
    if found is None:
        raise SystemExit("the product list carries no CSRF token")
    form = {
        "csrf_token": found.group(1),
        "scope": "filter",
        "action": "price",
        "price_mode": "amount",
        "price_direction": direction,
        "price_value": amount,
        "category_id": "",
        "query": query,
    }
    started = time.perf_counter()
    preview = await client.post("/admin/products/bulk/preview", data=form)
    preview_s = time.perf_counter() - started
    if preview.status_code != 200:
        raise SystemExit(f"the preview answered {preview.status_code}")
    count = re.search(r"Every product of the filter: ([\d,]+)", preview.text)
    started = time.perf_counter()
    applied = await client.post("/admin/products/bulk/apply", data=form)
    location = applied.headers.get("location", "")
    if applied.status_code != 303 or not re.fullmatch(r"/admin/products/bulk/\d+", location):
        raise SystemExit(f"applying answered {applied.status_code} -> {location or 'no redirect'}")
    edit_id = int(location.rsplit("/", 1)[1])
    stop = asyncio.Event()
    health_ids: list[str] = []
    watcher = asyncio.create_task(health_while(client, stop, health_ids))
    while True:
        progress = await client.get(location + "/progress")
        if "Done:" in progress.text or "stopped" in progress.text.lower():
            break
        if time.perf_counter() - started > give_up_after:
            stop.set()
            await watcher
            raise SystemExit(f"the job did not finish in {give_up_after:.0f} s")
        await asyncio.sleep(0.1)
    wall = time.perf_counter() - started
    stop.set()
    await watcher
    await asyncio.sleep(0.3)
    durations = await asyncio.to_thread(log.durations)
    health = [durations[r] for r in health_ids if r in durations]
    status, took, total, changed = await job_seconds(db_url, edit_id)
    verdict = "ok" if took is not None and took < TARGET_BULK_S else "OVER"
    print(
        f"\nprices {direction} by {amount} over {query} "
        f"({count.group(1) if count else '?'} products in the preview; job: {total} total, {changed} changed)"
    )
    print(f"  preview page           {preview_s * 1000:8.0f} ms (client)")
    print(f"  apply click to done    {wall:8.2f} s (client, polling every 0.1 s)")
    job = took if took is not None else float("nan")
    print(f"  job row created→done   {job:8.2f} s   status {status}  {verdict}")
    if health:
        p95 = statistics.quantiles(health, n=100, method="inclusive")[94] if len(health) > 1 else health[0]
        p50 = statistics.median(health)
        print(f"  /health during the job: {len(health)} requests, server p50 {p50:.1f} ms, p95 {p95:.1f} ms")


async def run(args: argparse.Namespace) -> None:
    require_loopback(args.url)
    db_url = os.environ.get("EMPORIUM_DATABASE_URL", "")
    values = await pick_values(db_url)
    client = await sign_in(args.url, args.login or LOGINS[0], args.password)
    log = ServerLog(Path(args.server_log) if args.server_log else None)
    print("load average at the start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    try:
        values["cursor"] = await second_page_cursors(client)
        if not args.skip_list:
            results: list[Result] = []
            for path in LIST_PAGES:
                results.append(await measure([client], Page(path, values), args.requests, args.warmup, log))
            report(results, 1, args.requests)
            print(f"(target: server p95 under {TARGET_LIST_MS:.0f} ms per list page)")
        if not args.skip_bulk:
            query = args.bulk_filter or await bulk_filter(db_url, args.bulk_size)
            dict(parse_qsl(query, strict_parsing=True))  # a malformed --bulk-filter stops here
            for direction in ("up", "down"):
                await bulk_change(client, query, direction, "1.00", log, db_url, args.bulk_timeout)
            print(f"(target: the job over 10,000+ products in under {TARGET_BULK_S:.0f} s)")
    finally:
        await client.aclose()
    print("\nload average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8050")
    parser.add_argument("--server-log", help="the file the server's access log lines go to")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--login", help="a staff e-mail (default: the seeded admin)")
    parser.add_argument("--password", default=STAFF_PASSWORD)
    parser.add_argument(
        "--bulk-size", type=int, default=10_000, help="products the bulk filter holds at least"
    )
    parser.add_argument("--bulk-filter", help="the list's query string to change, e.g. category=5")
    parser.add_argument("--bulk-timeout", type=float, default=300.0)
    parser.add_argument("--skip-list", action="store_true")
    parser.add_argument("--skip-bulk", action="store_true")
    args = parser.parse_args()
    if not 2 <= args.requests <= 100_000 or not 0 <= args.warmup <= 10_000:
        raise SystemExit("requests must be 2..100000 and warmup 0..10000")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
