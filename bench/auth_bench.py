"""Load a running shop's accounts API from this machine and print throughput and latency.

    python3 make.py run &                                   # or any running Emporium
    # (all from one address: serve with EMPORIUM_AUTH_RATE_LIMIT and EMPORIUM_RATE_LIMIT_READS raised)
    .venv/bin/python bench/auth_bench.py --scenario profile --requests 2000 --concurrency 20

Scenarios: ``profile`` (GET /api/v1/users/profile with a bearer token: the authenticated-request path),
``login`` (POST /api/v1/auth/login: dominated by argon2id by design), ``health`` (the bare framework).
Targets only loopback addresses, sends a bounded number of requests and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import socket
import statistics
import time
from urllib.parse import urlparse

import httpx

DEMO_EMAIL = "customer@demo.emporium.localhost"
DEMO_PASSWORD = "demo-customer-pass"  # noqa: S105 - the published demo account


def _require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    address = ipaddress.ip_address(socket.gethostbyname(host))
    if not address.is_loopback:
        raise SystemExit(f"refusing to load {host}: this benchmark only targets loopback addresses")


async def _login(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    response.raise_for_status()
    return str(response.json()["data"]["access_token"])


async def run(url: str, scenario: str, requests: int, concurrency: int) -> None:
    _require_loopback(url)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        headers = {"Authorization": f"Bearer {await _login(client)}"} if scenario == "profile" else {}
        latencies: list[float] = []
        failures = 0
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(requests):
            queue.put_nowait(i)

        async def one() -> httpx.Response:
            if scenario == "profile":
                return await client.get("/api/v1/users/profile", headers=headers)
            if scenario == "login":
                return await client.post(
                    "/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
                )
            return await client.get("/health")

        async def worker() -> None:
            nonlocal failures
            while True:
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                response = await one()
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"scenario={scenario} requests={requests} concurrency={concurrency} failures={failures}\n"
        f"throughput={requests / elapsed:.0f} req/s  p50={quantiles[49]:.1f} ms  p95={quantiles[94]:.1f} ms"
        f"  p99={quantiles[98]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--scenario", choices=("profile", "login", "health"), default="profile")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    if not 1 <= args.requests <= 100_000 or not 1 <= args.concurrency <= 500:
        raise SystemExit("requests must be 1..100000 and concurrency 1..500")
    asyncio.run(run(args.url, args.scenario, args.requests, args.concurrency))


if __name__ == "__main__":
    main()
