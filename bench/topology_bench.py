"""The scaled-out shape under load: the product list, the product page and checkout through nginx with 1,
2 and 3 app processes (`emporium cluster up`), beside a bare Starlette endpoint measured in the same run;
and what nginx and PgBouncer cost per request (/health straight from an app process and through nginx;
reads from an app process through PgBouncer and from one on PostgreSQL directly). With ``--replica``: the
product list and page through nginx without and with the streaming replica (`cluster up --replica`), side
by side, each half beside the bare endpoint.

    .venv/bin/python bench/topology_bench.py                  # 1, 2 and 3 app processes, 10 s a figure
    .venv/bin/python bench/topology_bench.py --apps 3 --duration 5s
    .venv/bin/python bench/topology_bench.py --replica --apps 3 --duration 8s

Needs wrk (apt-get install wrk) and what the cluster needs (nginx, pgbouncer, redis-server, PostgreSQL).
Loopback only; every cluster it starts is stopped at the end, even on failure. The catalog cache is off
(EMPORIUM_CATALOG_CACHE_TTL_SECONDS=0) and nginx's page micro-cache is passed by (``Pragma: no-cache``) so
that every page reads the database through the pooler.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
BASE_PORT = 27600
# nginx's micro-cache would answer the anonymous pages itself (deploy/nginx/microcache.conf): pass it by.
PAST_THE_PAGE_CACHE = {"Pragma": "no-cache"}
SETTINGS = {
    "EMPORIUM_LOG_LEVEL": "WARNING",
    "EMPORIUM_CATALOG_CACHE_TTL_SECONDS": "0",
    # One client address sends everything: the per-address limits would answer 429.
    "EMPORIUM_RATE_LIMIT_READS": "1000000000/minute",
    "EMPORIUM_RATE_LIMIT_CART": "1000000000/minute",
    "EMPORIUM_RATE_LIMIT_CHECKOUT": "1000000000/minute",
    "EMPORIUM_GUEST_CHECKOUT_RATE_LIMIT": "1000000000/minute",
    "EMPORIUM_OPEN_ORDERS_PER_EMAIL": "0",
    "EMPORIUM_OPEN_ORDERS_PER_PHONE": "0",
    "EMPORIUM_OPEN_ORDERS_PER_CLIENT_ADDRESS": "0",
}


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMPORIUM_")}
    return {**env, **SETTINGS, **extra}


def wait_for(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=5).status_code < 500:
                return
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds} s")


@contextlib.contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as output:
        proc = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


@contextlib.contextmanager
def cluster(state_dir: Path, apps: int, *, replica: bool = False) -> Iterator[dict[str, object]]:
    command = [str(BIN / "emporium"), "cluster", "up", "--state-dir", str(state_dir)]
    command += ["--apps", str(apps), "--base-port", str(BASE_PORT), *(["--replica"] if replica else [])]
    with process(command, environment(), state_dir.parent / f"cluster-{apps}.log") as supervisor:
        deadline = time.monotonic() + 300
        state: dict[str, object] = {}
        while not state.get("ready"):
            if supervisor.poll() is not None or time.monotonic() > deadline:
                log = (state_dir.parent / f"cluster-{apps}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"the cluster did not start:\n{log}")
            time.sleep(0.5)
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                state = json.loads((state_dir / "cluster.json").read_text())
        yield state


def wrk(
    url: str,
    duration: str,
    connections: int,
    script: Path | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[float, str, str]:
    """Requests a second, p50 and p99 of one wrk run (after an unmeasured warm-up of 2 s)."""
    header_options = [part for name, value in (headers or {}).items() for part in ("-H", f"{name}: {value}")]
    warm = ["wrk", "-t", "2", "-c", str(connections), "-d", "2s", *header_options, url]
    subprocess.run(warm, capture_output=True, check=True)  # noqa: S603
    command = ["wrk", "--latency", "--timeout", "10s", "-t", "2", "-c", str(connections), "-d", duration]
    command += header_options
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} answers were errors\n{out}")
    return rps, p50, p99


def checkout(url: str, direct_url: str, buyers: int) -> str:
    """Orders a second through nginx, by bench/checkout_bench.py (carts written first, not measured)."""
    command = [sys.executable, str(HERE / "checkout_bench.py"), "--url", url, "--scenario", "spread"]
    command += ["--buyers", str(buyers), "--concurrency", "16"]
    done = subprocess.run(  # noqa: S603
        command, env=environment(EMPORIUM_DATABASE_URL=direct_url), capture_output=True, text=True, check=True
    )
    found = re.search(r"([\d.]+) orders/s", done.stdout)
    return found.group(1) if found else done.stdout.strip().splitlines()[-1]


def pages(base: str) -> tuple[str, str]:
    home = httpx.get(base + "/", timeout=30).text
    category = re.search(r'href="(/c/[^"]+)"', home).group(1)  # type: ignore[union-attr]
    listing = httpx.get(base + category, timeout=30).text
    product = re.search(r'href="(/p/[^"]+)"', listing).group(1)  # type: ignore[union-attr]
    return category, product


def row(label: str, figures: tuple[float, str, str]) -> None:
    rps, p50, p99 = figures
    print(f"| {label} | {rps:,.0f} | {p50} | {p99} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--apps", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--buyers", type=int, default=400)
    parser.add_argument("--replica", action="store_true", help="without and with the replica, side by side")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("install wrk first (apt-get install wrk)")
    root = Path(tempfile.mkdtemp(prefix="emporium-topology-bench-"))
    root.chmod(0o755)  # run as root, PostgreSQL (as the postgres user) must reach its folder in here
    state_dir = root / "cluster"
    hello_port = BASE_PORT + 50
    hello = [str(BIN / "uvicorn"), "--app-dir", str(HERE), "hello_app:app", "--port", str(hello_port)]
    try:
        with process([*hello, "--log-level", "warning"], environment(), root / "hello.log"):
            wait_for(f"http://127.0.0.1:{hello_port}/")
            if args.replica:
                for apps in args.apps:
                    compare_replica(state_dir, apps, args, f"http://127.0.0.1:{hello_port}/")
                return
            print("| what | requests/s | p50 | p99 |\n|---|---|---|---|", flush=True)
            for apps in args.apps:
                measure_shape(state_dir, apps, args, f"http://127.0.0.1:{hello_port}/")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def load_demo(state_dir: Path, direct: str) -> None:
    """The demo shop, once per state directory (later clusters on it find it there)."""
    if not (state_dir / "demo-loaded").exists():
        subprocess.run(  # noqa: S603
            [str(BIN / "emporium"), "demo", "--no-images"],
            env=environment(EMPORIUM_DATABASE_URL=direct),
            cwd=state_dir,
            check=True,
            capture_output=True,
        )
        (state_dir / "demo-loaded").touch()


def read_sessions(shop: str) -> dict[str, float]:
    """The app processes' emporium_db_read_sessions_total by server, summed at /metrics."""
    counts = {"primary": 0.0, "replica": 0.0}
    for line in httpx.get(shop + "/metrics", timeout=30).text.splitlines():
        found = re.match(r'emporium_db_read_sessions_total\{server="(\w+)"\} (\S+)', line)
        if found:
            counts[found.group(1)] += float(found.group(2))
    return counts


def compare_replica(state_dir: Path, apps: int, args: argparse.Namespace, hello: str) -> None:
    """The same pages through nginx on the same data, the cluster started without and then with the replica
    (its base backup taken of the primary the first half filled)."""
    figures: dict[bool, list[tuple[float, str, str]]] = {}
    served: dict[str, float] = {}
    for replica in (False, True):
        with cluster(state_dir, apps, replica=replica) as state:
            shop = str(state["public_url"])
            load_demo(state_dir, str(state["direct_url"]))
            category, product = pages(shop)
            before = read_sessions(shop)
            figures[replica] = [
                wrk(hello, args.duration, args.connections),
                wrk(shop + category, args.duration, args.connections, headers=PAST_THE_PAGE_CACHE),
                wrk(shop + product, args.duration, args.connections, headers=PAST_THE_PAGE_CACHE),
            ]
            after = read_sessions(shop)
            served = {server: after[server] - before[server] for server in after} if replica else served
    labels = ["bare Starlette endpoint (1 process), same run", f"product list {category}", "product page"]
    print(f"\n{apps} app processes through nginx | without the replica | with the replica | ratio")
    print("|---|---|---|---|")
    for index, label in enumerate(labels):
        (r0, p50_0, p99_0), (r1, p50_1, p99_1) = figures[False][index], figures[True][index]
        without, with_replica = f"{r0:,.0f}/s ({p50_0}, {p99_0})", f"{r1:,.0f}/s ({p50_1}, {p99_1})"
        print(f"| {label} | {without} | {with_replica} | {r1 / r0:.2f} |")
    print(f"reads the replica served while measured with it: {served}", flush=True)


def measure_shape(state_dir: Path, apps: int, args: argparse.Namespace, hello: str) -> None:
    with cluster(state_dir, apps) as state:
        shop = str(state["public_url"])
        direct = str(state["direct_url"])
        load_demo(state_dir, direct)
        category, product = pages(shop)
        row(
            f"bare Starlette endpoint (1 process), beside {apps} app process(es)",
            wrk(hello, args.duration, args.connections),
        )
        row(
            f"{apps} app: product list {category} through nginx",
            wrk(shop + category, args.duration, args.connections),
        )
        row(f"{apps} app: product page through nginx", wrk(shop + product, args.duration, args.connections))
        print(
            f"| {apps} app: checkout through nginx | {checkout(shop, direct, args.buyers)} orders/s | | |",
            flush=True,
        )
        if apps == 1:
            measure_costs(state, product, args)


def measure_costs(state: dict[str, object], product: str, args: argparse.Namespace) -> None:
    """One app process: straight and through nginx (/health: no database, so only the proxy differs); and
    another one on PostgreSQL directly, no PgBouncer (the product page and the products API: reads)."""
    services = state["services"]
    assert isinstance(services, dict)
    app = f"http://127.0.0.1:{services['app-1']['port']}"
    shop = str(state["public_url"])
    api = "/api/v1/products?limit=20"
    duration, connections = args.duration, args.connections
    row("1 app: /health straight from the app", wrk(app + "/health", duration, connections))
    row("1 app: /health through nginx", wrk(shop + "/health", duration, connections))
    row("1 app: product page straight from the app (PgBouncer)", wrk(app + product, duration, connections))
    row(f"1 app: {api} straight from the app (PgBouncer)", wrk(app + api, duration, connections))
    port = BASE_PORT + 51
    env = environment(
        EMPORIUM_DATABASE_URL=str(state["direct_url"]), EMPORIUM_REDIS_URL=str(state["redis_url"])
    )
    log = Path(tempfile.gettempdir()) / "emporium-topology-bench-direct.log"
    with process([str(BIN / "emporium"), "serve", "--port", str(port)], env, log):
        direct = f"http://127.0.0.1:{port}"
        wait_for(direct + "/health")
        row("1 app: product page, app on PostgreSQL directly", wrk(direct + product, duration, connections))
        row(f"1 app: {api}, app on PostgreSQL directly", wrk(direct + api, duration, connections))


if __name__ == "__main__":
    main()
