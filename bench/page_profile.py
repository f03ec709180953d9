"""Where a storefront page's time goes, beside its API twin: cProfile per page type, the app driven
in-process (no HTTP server), with the share of time spent in each part of the request.

    EMPORIUM_DATABASE_URL=sqlite+aiosqlite:///./var/emporium.db .venv/bin/python bench/page_profile.py
    .venv/bin/python bench/page_profile.py --cache 300     # with the catalog and page caches on
    .venv/bin/python bench/page_profile.py --top 25 /p/kalakand   # one page, its 25 costliest functions

For each pair it prints the calls per request and the milliseconds of CPU per request (of this process,
unprofiled: the SQLite driver's thread included, PostgreSQL's server not), and the page's time
split between SQL (SQLAlchemy and the driver), templates (Jinja, Babel's number formats), validation
(pydantic) and the rest (FastAPI, Starlette, asyncio, this app's own code), each function's own time
counted in the part its code lives in (the profiler's wall-clock times: waits included, slower than
unprofiled).
A visitor without a session asks, as a first-time browser does; the caches are off unless ``--cache`` says.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

PAIRS = (
    ("/", "/api/v1/products/featured"),
    ("/c/sweet-shop", "/api/v1/products?category=sweet-shop&limit=24"),
    ("/p/kalakand", "/api/v1/products/kalakand"),
    ("/search?q=choclate", "/api/v1/products/search?q=choclate&limit=24"),
)
# Where a part of the work lives, by the path of its code (cumulative time of the outermost frame there).
PARTS = {
    "sql": ("sqlalchemy/", "aiosqlite/", "asyncpg/"),
    "templates": ("jinja2/", "/templates/", "markupsafe/", "babel/"),
    "validation": ("pydantic/", "pydantic_core/"),
}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "targets", nargs="*", help="paths to profile (default: the four page types and twins)"
    )
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--cache", type=int, default=0, help="catalog cache seconds (0: off)")
    parser.add_argument("--top", type=int, default=0, help="also print the N costliest functions")
    return parser.parse_args()


def part_times(stats: pstats.Stats) -> dict[str, float]:
    """Seconds spent in each part's own code (its functions' own time, so nothing is counted twice);
    ``other`` is everything else: FastAPI, Starlette, asyncio and this app's own code."""
    found = dict.fromkeys((*PARTS, "other"), 0.0)
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_cc, _nc, own, _cumulative, _callers) in table.items():
        part = next((p for p, markers in PARTS.items() if any(m in filename for m in markers)), "other")
        found[part] += own
    return found


async def profile(
    app: Any, target: str, args: argparse.Namespace
) -> tuple[int, float, float, dict[str, float]]:
    from calls_per_request import get  # one GET through the whole ASGI stack, as uvicorn sends it

    status = 0
    for _ in range(args.warmup):
        status = await get(app, target)
    # CPU time without the profiler first: on a machine others load, it moves far less than req/s.
    started = time.process_time()
    for _ in range(args.requests):
        await get(app, target)
    cpu_ms = (time.process_time() - started) * 1000 / args.requests
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        await get(app, target)
    profiler.disable()
    stats = pstats.Stats(profiler)
    calls = stats.total_calls / args.requests  # type: ignore[attr-defined]
    parts = {k: v * 1000 / args.requests for k, v in part_times(stats).items()}
    if args.top:
        stats.sort_stats("cumulative").print_stats(args.top)
    return status, calls, cpu_ms, parts


async def main(args: argparse.Namespace) -> None:
    import calls_per_request  # noqa: F401  (it sets the environment of its own runs: set ours again)

    os.environ["EMPORIUM_CATALOG_CACHE_TTL_SECONDS"] = str(args.cache)
    from emporium.app import create_app

    targets = args.targets or [path for pair in PAIRS for path in pair]
    app = create_app()
    async with app.router.lifespan_context(app):
        print("| request | status | calls | CPU ms | SQL ms | templates ms | validation ms | other ms |")
        print("|---|---|---|---|---|---|---|---|")
        for target in targets:
            status, calls, cpu_ms, parts = await profile(app, target, args)
            print(
                f"| `GET {target}` | {status} | {calls:.0f} | {cpu_ms:.2f} | {parts['sql']:.2f} "
                f"| {parts['templates']:.2f} | {parts['validation']:.2f} | {parts['other']:.2f} |"
            )


if __name__ == "__main__":
    arguments = parse()
    os.environ["EMPORIUM_CATALOG_CACHE_TTL_SECONDS"] = str(arguments.cache)
    os.environ["EMPORIUM_JOBS_RUN_IN_PROCESS"] = "false"
    os.environ.setdefault("EMPORIUM_RATE_LIMIT_READS", "1000000000/minute")
    os.environ.setdefault("EMPORIUM_LOG_LEVEL", "WARNING")
    asyncio.run(main(arguments))
