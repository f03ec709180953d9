"""Back-office pages under load: latency per page for 1 and for 8 staff members signed in at once.

    export EMPORIUM_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/emporium_bench_backoffice
    .venv/bin/python bench/seed_backoffice.py --reset              # once (bench/seed_backoffice.py)
    EMPORIUM_AUTH_RATE_LIMIT=100000/minute EMPORIUM_RATE_LIMIT_STAFF=1000000000/minute \\
        EMPORIUM_RATE_LIMIT_FILE=/tmp/backoffice-bench-limits.db \\
        .venv/bin/emporium serve --port 8040 --workers 2 >> /tmp/backoffice-access.log 2>&1 &
    .venv/bin/python bench/backoffice_bench.py --url http://127.0.0.1:8040 \\
        --server-log /tmp/backoffice-access.log --concurrency 1,8 --requests 100 --warmup 10

The limits are lifted because a bench client is not a person: the staff pages' limit counts each staff
member's requests (1,200 a minute by default, which one client sending back to back passes in seconds), and
eight sign-ins in a row from 127.0.0.1 meet the sign-in limit of that address. The limiter's own file
keeps these runs from sharing counters with another shop served from the same checkout.

Each of the N clients signs in through ``/admin/sign-in`` as its own staff member (its own cookies; the CSRF
token from the page's ``<meta name="csrf-token">``): by default the seeded admin, admin-2 ... admin-8
(``--login`` and ``--password`` name others). Then, page by page, the N clients share ``--requests``
requests of that page (after ``--warmup`` unmeasured ones) and the script prints the count, p50, p95 and max
per page, on the client and on the server, with the bare ``/health`` measured in the same run as the
reference for the machine's noise. A page that answers 404 (not built yet) is reported as missing; any
other status than 200 is reported with its code.

Server time: the app sends no Server-Timing header; its access log (JSON lines at INFO, the default level)
gives every request's ``duration_ms``, measured by the outermost middleware, under the request id the
client sends (``X-Request-ID``). ``--server-log`` names the file the server's output goes to; without it,
only client times are printed (loopback: they add the HTTP client and the connection to the server time).
A Server-Timing ``dur`` is read instead wherever the app sends one.

Pages are the built-in list (``--list`` prints it) or ``--pages FILE`` (one path a line, ``#`` comments).
Paths may hold ``{order_id}``, ``{order_number}``, ``{customer_id}``, ``{phone}`` (typed with spaces, as
staff do), ``{email}``, ``{name}``, ``{today}``, ``{days_ago_30}``, ``{days_ago_365}``: real values are read
from the database (EMPORIUM_DATABASE_URL) and each request takes the next one of 20. Targets only loopback
addresses, and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import itertools
import json
import os
import re
import socket
import statistics
import string
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlparse

import asyncpg
import httpx
import phonenumbers
from backoffice_seed.common import asyncpg_dsn, require_loopback_postgres

STAFF_PASSWORD = "bench-staff-pass"  # noqa: S105 - the seeded benchmark accounts' published password
LOGINS = ["admin@bench.emporium.localhost", *(f"admin-{n}@bench.emporium.localhost" for n in range(2, 9))]
DEFAULT_PAGES = (
    "/health",
    "/admin",
    "/admin/reports",
    "/admin/reports?from={days_ago_30}&to={today}",
    "/admin/reports?from={days_ago_365}&to={today}",
    "/admin/orders",
    "/admin/orders?status=processing",
    "/admin/orders?from={days_ago_30}&to={today}",
    "/admin/orders?q={phone}",
    "/admin/orders?q={email}",
    "/admin/orders?q={name}",
    "/admin/orders/{order_id}",
    "/admin/customers",
    "/admin/customers?q={name}",
    "/admin/customers?q={phone}",
    "/admin/customers?q={email}",
    "/admin/customers/{customer_id}",
    "/admin/staff",
    "/admin/audit",
    "/admin/audit?action=order.shipped",
    "/admin/search?q={order_number}",
    "/admin/search?q={name}",
)
# Salts the hash that orders the picks (the same rows on every run).
PICK_SALT = "backoffice-bench"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
TARGETS_MS = {1: 100.0, 8: 300.0}  # server p95 per page (the targets)


def require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        raise SystemExit(f"refusing to load {host}: this benchmark only targets loopback addresses")


# Real values for the paths' placeholders -----------------------------------------------------------------


async def pick_values(url: str) -> dict[str, list[str]]:
    """20 of each kind, read from the shop's database; the same ones on every run (ordered by a hash of
    their id: ``random()`` after ``setseed`` is not repeatable once PostgreSQL scans in parallel)."""
    require_loopback_postgres(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        orders = await conn.fetch(
            "SELECT id, number FROM orders ORDER BY hashtext(id::text || $1) LIMIT 20", PICK_SALT
        )
        # The customer with the most orders is the heaviest customer page: always one of them.
        customers = await conn.fetch(
            "(SELECT user_id FROM orders WHERE user_id IS NOT NULL GROUP BY user_id ORDER BY count(*) DESC "
            "LIMIT 1) UNION ALL (SELECT id FROM users WHERE role = 'customer' AND erased_at IS NULL "
            "ORDER BY hashtext(id::text || $1) LIMIT 19)",
            PICK_SALT,
        )
        phones = await conn.fetch(
            "SELECT contact_phone FROM orders WHERE contact_phone IS NOT NULL "
            "ORDER BY hashtext(id::text || $1) LIMIT 20",
            PICK_SALT,
        )
        people = await conn.fetch(
            "SELECT email, last_name FROM users WHERE role = 'customer' AND erased_at IS NULL "
            "ORDER BY hashtext(id::text || $1) LIMIT 20",
            PICK_SALT,
        )
    finally:
        await conn.close()
    today = datetime.now(UTC).date()
    return {
        "order_id": [str(r["id"]) for r in orders],
        "order_number": [r["number"] for r in orders],
        "customer_id": [str(r[0]) for r in customers],
        "phone": [_typed(r[0]) for r in phones],
        "email": [r["email"] for r in people],
        "name": [r["last_name"] for r in people],
        "today": [today.isoformat()],
        "days_ago_30": [(today - timedelta(days=30)).isoformat()],
        "days_ago_365": [(today - timedelta(days=365)).isoformat()],
    }


def _typed(e164: str) -> str:
    """A stored E.164 number as staff type it: "+1 202-555-0143"."""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def placeholders(path: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(path) if name}


class Page:
    """A path whose placeholders take the next value on each request."""

    def __init__(self, path: str, values: dict[str, list[str]]) -> None:
        self.path = path
        self._cycles = {name: itertools.cycle(values[name]) for name in placeholders(path)}

    def next_url(self) -> str:
        """The path with each placeholder's next value, URL-encoded (a phone's + must stay a plus)."""
        return self.path.format(**{name: quote(next(cycle), safe="") for name, cycle in self._cycles.items()})


# Signing in --------------------------------------------------------------------------------------------


async def sign_in(url: str, email: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=1))
    form = await client.get("/admin/sign-in")
    found = CSRF_META.search(form.text)
    if form.status_code != 200 or found is None:
        await client.aclose()
        raise SystemExit(f"GET /admin/sign-in answered {form.status_code} without a CSRF token")
    answer = await client.post(
        "/admin/sign-in",
        data={"email": email, "password": password, "csrf_token": found.group(1), "next": "/admin/audit"},
    )
    target = answer.headers.get("location", "")
    if answer.status_code != 303 or target.startswith("/admin/sign-in"):
        await client.aclose()
        message = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", answer.text))[:300]
        raise SystemExit(
            f"signing in as {email} failed ({answer.status_code} -> {target or 'no redirect'}): {message}"
            + ("\n(serve with EMPORIUM_AUTH_RATE_LIMIT raised)" if answer.status_code == 429 else "")
        )
    return client


# Measuring ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    path: str
    concurrency: int
    status: str = "ok"
    client_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)


class ServerLog:
    """Reads the server's JSON access lines appended since the last read: request id -> duration."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.offset = path.stat().st_size if path is not None and path.exists() else 0

    def durations(self) -> dict[str, float]:
        if self.path is None:
            return {}
        found: dict[str, float] = {}
        with self.path.open("rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        complete = chunk.rfind(b"\n") + 1
        self.offset += complete
        for line in chunk[:complete].splitlines():
            if b'"duration_ms"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and "request_id" in entry and "duration_ms" in entry:
                found[str(entry["request_id"])] = float(entry["duration_ms"])
        return found


def _header_duration(response: httpx.Response) -> float | None:
    timing = response.headers.get("server-timing", "")
    found = re.search(r"dur=([0-9.]+)", timing)
    return float(found.group(1)) if found else None


async def measure(
    clients: list[httpx.AsyncClient], page: Page, requests: int, warmup: int, log: ServerLog
) -> Result:
    result = Result(page.path, len(clients))
    sent: list[str] = []
    from_headers: list[float] = []

    async def run(count: int, record: bool) -> None:
        remaining = count

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                request_id = f"bench-{uuid.uuid4().hex}"
                started = time.perf_counter()
                response = await client.get(page.next_url(), headers={"X-Request-ID": request_id})
                took = (time.perf_counter() - started) * 1000
                if not record:
                    continue
                result.statuses[response.status_code] = result.statuses.get(response.status_code, 0) + 1
                result.client_ms.append(took)
                sent.append(request_id)
                header = _header_duration(response)
                if header is not None:
                    from_headers.append(header)

        await asyncio.gather(*(worker(client) for client in clients))

    first = await clients[0].get(page.next_url())
    location = first.headers.get("location", "")
    if first.status_code == 404:
        result.status = "missing"
        return result
    # A page may answer by sending the staff member on (the search opens the one order it found).
    sent_on = first.is_redirect and not location.startswith("/admin/sign-in")
    if first.status_code != 200 and not sent_on:
        result.status = f"HTTP {first.status_code}" + (f" -> {location}" if location else "")
        return result
    await run(warmup, record=False)
    started = time.perf_counter()
    await run(requests, record=True)
    result.elapsed = time.perf_counter() - started
    await asyncio.sleep(0.3)  # the server's last log lines
    logged = await asyncio.to_thread(log.durations)
    result.server_ms = from_headers or [logged[r] for r in sent if r in logged]
    if set(result.statuses) != {first.status_code}:
        result.status = "statuses " + ", ".join(f"{k}: {v}" for k, v in sorted(result.statuses.items()))
    elif sent_on:
        result.status = f"{first.status_code} -> {location.split('?')[0]}"
    return result


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (values[0],) * 3 if values else (float("nan"),) * 3
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), cuts[94], max(values)


def report(results: list[Result], concurrency: int, requests: int) -> None:
    target = TARGETS_MS.get(concurrency)
    print(f"\n{concurrency} staff member(s) at once, {requests} requests per page; times in ms")
    print(
        f"{'page':52} {'n':>5} {'req/s':>6} | {'client p50':>10} {'p95':>7} {'max':>7} | "
        f"{'server p50':>10} {'p95':>7} {'max':>7} | {'target':>7}"
    )
    for r in results:
        if r.status == "missing" or r.status.startswith("HTTP"):
            print(f"{r.path[:52]:52} {r.status}")
            continue
        c50, c95, cmax = _quantiles(r.client_ms)
        line = f"{r.path[:52]:52} {len(r.client_ms):>5} {len(r.client_ms) / r.elapsed:>6.0f} | "
        line += f"{c50:>10.1f} {c95:>7.1f} {cmax:>7.1f} | "
        if r.server_ms:
            s50, s95, smax = _quantiles(r.server_ms)
            verdict = "" if target is None or r.path == "/health" else ("ok" if s95 < target else "OVER")
            line += f"{s50:>10.1f} {s95:>7.1f} {smax:>7.1f} | {verdict:>7}"
        else:
            line += f"{'-':>10} {'-':>7} {'-':>7} |"
        if r.status != "ok":
            line += f"  ({r.status})"
        print(line)


def _read_pages(path: str | None) -> list[str]:
    if path is None:
        return list(DEFAULT_PAGES)
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    pages = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    if not pages or not all(p.startswith("/") for p in pages):
        raise SystemExit(f"{path}: one path a line, each starting with /")
    return pages


async def run(args: argparse.Namespace) -> list[Result]:
    require_loopback(args.url)
    paths = _read_pages(args.pages)
    wanted = set().union(*(placeholders(p) for p in paths))
    values: dict[str, list[str]] = {}
    if wanted:
        values = await pick_values(os.environ.get("EMPORIUM_DATABASE_URL", ""))
        empty = sorted(name for name in wanted if not values.get(name))
        if empty:
            raise SystemExit(f"no values in the database for {', '.join(empty)}: seed it first")
    pages = [Page(path, values) for path in paths]
    logins = args.login or LOGINS
    most = max(args.concurrency)
    clients = [await sign_in(args.url, logins[i % len(logins)], args.password) for i in range(most)]
    log = ServerLog(Path(args.server_log) if args.server_log else None)
    print("load average at the start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    every: list[Result] = []
    try:
        for concurrency in args.concurrency:
            results = []
            for page in pages:
                result = await measure(clients[:concurrency], page, args.requests, args.warmup, log)
                results.append(result)
            report(results, concurrency, args.requests)
            every += results
    finally:
        for client in clients:
            await client.aclose()
    print("\nload average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if args.server_log is None:
        print("\nNo --server-log: the times are the client's, over loopback.")
    return every


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8040")
    parser.add_argument("--pages", help="a file of paths, one a line (default: the built-in list)")
    parser.add_argument("--list", action="store_true", help="print the built-in list of pages and stop")
    parser.add_argument("--concurrency", default="1,8", help="staff members at once, e.g. 1,8")
    parser.add_argument("--requests", type=int, default=100, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured requests per page first")
    parser.add_argument("--login", action="append", help="a staff e-mail (repeat; default: the seeded)")
    parser.add_argument("--password", default=STAFF_PASSWORD)
    parser.add_argument("--server-log", help="the file the server's access log lines go to")
    parser.add_argument("--json", help="also write every measurement to this file")
    args = parser.parse_args()
    if args.list:
        print("\n".join(DEFAULT_PAGES))
        return
    try:
        args.concurrency = sorted({int(part) for part in args.concurrency.split(",")})
    except ValueError as exc:
        raise SystemExit("--concurrency takes numbers separated by commas, e.g. 1,8") from exc
    if not all(1 <= c <= 64 for c in args.concurrency) or not 2 <= args.requests <= 100_000:
        raise SystemExit("concurrency must be 1..64 and requests 2..100000")
    if not 0 <= args.warmup <= 10_000:
        raise SystemExit("warmup must be 0..10000")
    results = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps([vars(r) for r in results], indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
