"""Python function calls per request, counted by cProfile on the app driven in-process (no HTTP server).

A worker's CPU time per request swings with the machine (the same code gave 3.6 and 4.8 ms within
minutes here); the number of calls does not, so it shows what a change saves even on a busy machine.

    EMPORIUM_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/emporium_bench \\
        .venv/bin/python bench/calls_per_request.py /api/v1/products "/api/v1/products/search?q=chocolate"

The catalog cache is switched off and jobs are not run in the process, as in `catalog_wrk.sh`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
from typing import Any

os.environ["EMPORIUM_CATALOG_CACHE_TTL_SECONDS"] = "0"
os.environ["EMPORIUM_JOBS_RUN_IN_PROCESS"] = "false"
# Every request comes from one client address: the reads limit must not refuse them (it still counts).
os.environ.setdefault("EMPORIUM_RATE_LIMIT_READS", "1000000000/minute")
os.environ.setdefault("EMPORIUM_LOG_LEVEL", "WARNING")

# The settings above are read when the app is made.
from emporium.app import create_app


async def get(app: Any, target: str) -> int:
    """One GET through the whole ASGI stack, as uvicorn would send it; the response status."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


async def main(targets: list[str], requests: int, warmup: int) -> None:
    app = create_app()
    async with app.router.lifespan_context(app):
        print("| request | status | calls per request |")
        print("|---|---|---|")
        for target in targets:
            # Warm: pools opened, statements compiled and prepared, caches of the code filled.
            for _ in range(warmup):
                status = await get(app, target)
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(requests):
                await get(app, target)
            profile.disable()
            calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
            print(f"| `GET {target}` | {status} | {calls / requests:.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("targets", nargs="+", help="paths with their query strings")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.targets, args.requests, args.warmup))
