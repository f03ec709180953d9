"""Load a running shop's wishlist API from this machine: GET /api/v1/wishlist of a list of ``--items``
products, next to GET /health (the bare framework) in the same run, and print throughput and latency.

    python3 make.py run &                                   # or any running Emporium with the demo data
    # (all from one address: serve with EMPORIUM_RATE_LIMIT_READS and EMPORIUM_AUTH_RATE_LIMIT raised)
    .venv/bin/python bench/wishlist_bench.py --items 50 --requests 2000 --concurrency 20

Signs in as the demo customer and fills their default list with the first ``--items`` products of the
catalog first (adding a product already there changes nothing). Targets only loopback addresses, sends a
bounded number of requests and stops by itself.
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


async def _prepare(client: httpx.AsyncClient, items: int) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    response.raise_for_status()
    headers = {"Authorization": f"Bearer {response.json()['data']['access_token']}"}
    ids: list[int] = []
    page = 1
    while len(ids) < items:
        found = await client.get("/api/v1/products", params={"page": page, "limit": 100})
        found.raise_for_status()
        batch = [p["id"] for p in found.json()["data"]]
        if not batch:
            break
        ids += batch
        page += 1
    for product_id in ids[:items]:
        (
            await client.post("/api/v1/wishlist", json={"product_id": product_id}, headers=headers)
        ).raise_for_status()
    shown = (await client.get("/api/v1/wishlist", headers=headers)).json()["data"]
    print(f"the list holds {shown['item_count']} items")
    return headers


async def _load(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], requests: int, concurrency: int
) -> None:
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def worker() -> None:
        nonlocal failures
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"{path:<18} requests={requests} concurrency={concurrency} failures={failures}  "
        f"throughput={requests / elapsed:.0f} req/s  p50={quantiles[49]:.1f} ms  p95={quantiles[94]:.1f} ms"
        f"  p99={quantiles[98]:.1f} ms"
    )


async def run(url: str, items: int, requests: int, concurrency: int) -> None:
    _require_loopback(url)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        headers = await _prepare(client, items)
        await _load(client, "/health", {}, requests, concurrency)
        await _load(client, "/api/v1/wishlist", headers, requests, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    if not 1 <= args.items <= 500 or not 1 <= args.requests <= 100_000 or not 1 <= args.concurrency <= 500:
        raise SystemExit("items must be 1..500, requests 1..100000 and concurrency 1..500")
    asyncio.run(run(args.url, args.items, args.requests, args.concurrency))


if __name__ == "__main__":
    main()
