"""Load a running shop's product search from this machine and print throughput and latency.

    python3 make.py run &                                   # or any running Emporium with a catalog
    # (all from one address: serve with EMPORIUM_RATE_LIMIT_READS=1000000000/minute, or it answers 429)
    .venv/bin/python bench/search_bench.py --scenario search --requests 2000 --concurrency 20

Scenarios: ``search`` (GET /api/v1/products/search over a rotating set of words, with facets),
``typo`` (misspelt words: the correction path), ``autocomplete`` (GET /api/v1/products/autocomplete with
first letters), ``health`` (the bare framework, for comparison). Targets only loopback addresses, sends a
bounded number of requests and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import itertools
import socket
import statistics
import time
from urllib.parse import urlparse

import httpx

WORDS = ("shirt", "chocolate", "headphones", "book", "lamp", "cotton", "sweets", "phone", "mug", "jeans")
TYPOS = ("choclate", "hedphones", "tshirt", "gulab jamon", "lampp", "cottn")
PREFIXES = ("ch", "sh", "he", "bo", "la", "co", "sw", "ph", "mu", "je")


def _require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    address = ipaddress.ip_address(socket.gethostbyname(host))
    if not address.is_loopback:
        raise SystemExit(f"refusing to load {host}: this benchmark only targets loopback addresses")


def _requests(scenario: str) -> itertools.cycle[tuple[str, dict[str, str]]]:
    if scenario == "search":
        return itertools.cycle(("/api/v1/products/search", {"q": word}) for word in WORDS)
    if scenario == "typo":
        return itertools.cycle(("/api/v1/products/search", {"q": word}) for word in TYPOS)
    if scenario == "autocomplete":
        return itertools.cycle(("/api/v1/products/autocomplete", {"q": prefix}) for prefix in PREFIXES)
    return itertools.cycle([("/health", {})])


async def run(url: str, scenario: str, requests: int, concurrency: int) -> None:
    _require_loopback(url)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    plan = _requests(scenario)
    latencies: list[float] = []
    failures = 0
    remaining = requests

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal failures, remaining
            while remaining > 0:
                remaining -= 1
                path, params = next(plan)
                started = time.perf_counter()
                response = await client.get(path, params=params)
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
    parser.add_argument("--scenario", choices=("search", "typo", "autocomplete", "health"), default="search")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    if not 2 <= args.requests <= 100_000 or not 1 <= args.concurrency <= 500:
        raise SystemExit("requests must be 2..100000 and concurrency 1..500")
    asyncio.run(run(args.url, args.scenario, args.requests, args.concurrency))


if __name__ == "__main__":
    main()
