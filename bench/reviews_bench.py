"""Reviews and helpful votes per second against a running shop on PostgreSQL, moderators approving as they
come, then every rating summary compared with a recount (the drift must be 0).

    createdb -h 127.0.0.1 -U postgres emporium_bench_reviews
    export EMPORIUM_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/emporium_bench_reviews
    .venv/bin/emporium migrate
    EMPORIUM_REVIEWS_RATE_LIMIT_CUSTOMER=1000000/minute EMPORIUM_REVIEWS_RATE_LIMIT_ADDRESS=1000000/minute \
        EMPORIUM_RATE_LIMIT_ACCOUNT=1000000/minute EMPORIUM_RATE_LIMIT_STAFF=1000000/minute \
        EMPORIUM_RATE_LIMIT_READS=1000000/minute EMPORIUM_AUTH_RATE_LIMIT=1000000/minute \
        .venv/bin/emporium serve --port 8070 --workers 2 &
    .venv/bin/python bench/reviews_bench.py --url http://127.0.0.1:8070 --reviews 1000 --votes 1000 \
        --customers 200 --products 50 --concurrency 32

The products and accounts are written straight into the database first (not measured), then every customer
signs in. Measured: ``--reviews`` POST /products/{id}/reviews (each customer reviews distinct products) and
``--votes`` POST /reviews/{id}/vote on approved reviews (never the voter's own), from ``--concurrency``
workers, while two moderators page through the pending queue and approve it in bulk, and a probe asks
``/health`` every 50 ms as the noise reference. Then the summaries are recomputed from the reviews and
compared with what the shop stored. Targets only loopback addresses and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import random
import secrets
import socket
import statistics
import time
from urllib.parse import urlparse

import httpx
from argon2 import PasswordHasher
from sqlalchemy import func, select

import emporium.models  # noqa: F401 - every table, so foreign keys resolve
from emporium.accounts.models import User
from emporium.catalog.models import Product
from emporium.core.db import Database
from emporium.reviews import summary
from emporium.reviews.models import Review

PASSWORD = "bench-Reviews-2026!"  # noqa: S105 - the bench accounts' password, on a bench database


def _require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        raise SystemExit(f"refusing to load {host}: this benchmark only targets loopback addresses")


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values, default=0.0)


async def _setup(db: Database, customers: int, products: int) -> tuple[list[int], list[str], list[str]]:
    run = secrets.token_hex(3)
    hashed = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with db.session() as session:
        made = [
            Product(
                name=f"Bench review item {i}", slug=f"bench-review-{run}-{i}", status="active", currency="USD"
            )
            for i in range(products)
        ]
        emails = [f"reviewer-{run}-{i}@bench.emporium.localhost" for i in range(customers)]
        staff = [f"moderator-{run}-{i}@bench.emporium.localhost" for i in range(2)]
        session.add_all(made)
        session.add_all(
            User(email=e, password_hash=hashed, first_name=f"Reviewer{i}", last_name="Bench", role="customer")
            for i, e in enumerate(emails)
        )
        session.add_all(User(email=e, password_hash=hashed, role="moderator") for e in staff)
        await session.flush()
        return [p.id for p in made], emails, staff


async def _sign_in(client: httpx.AsyncClient, emails: list[str]) -> list[dict[str, str]]:
    gate = asyncio.Semaphore(16)

    async def one(email: str) -> dict[str, str]:
        async with gate:
            response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            response.raise_for_status()
            return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}

    return list(await asyncio.gather(*(one(e) for e in emails)))


class Run:
    def __init__(self, reviews: int, votes: int) -> None:
        self.review_ms: list[float] = []
        self.vote_ms: list[float] = []
        self.moderation_ms: list[float] = []
        self.health_ms: list[float] = []
        self.statuses: dict[str, int] = {}
        self.approved: list[tuple[int, int]] = []  # (review id, author index)
        self.reviews_left = reviews
        self.votes_left = votes
        self.posting_done = asyncio.Event()
        self.done = asyncio.Event()

    def count(self, kind: str, status: int) -> None:
        key = f"{kind} {status}"
        self.statuses[key] = self.statuses.get(key, 0) + 1


async def _timed(
    client: httpx.AsyncClient, method: str, path: str, **kw: object
) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.request(method, path, **kw)  # type: ignore[arg-type]
    return response, (time.perf_counter() - started) * 1000


async def _worker(
    client: httpx.AsyncClient,
    run: Run,
    work: asyncio.Queue[tuple[int, int]],
    headers: list[dict[str, str]],
    rng: random.Random,
) -> None:
    while not work.empty():
        author, product_id = work.get_nowait()
        body = {"rating": rng.randint(1, 5), "title": "Bench review", "body": "Measured, not meant."}
        response, ms = await _timed(
            client, "POST", f"/api/v1/products/{product_id}/reviews", json=body, headers=headers[author]
        )
        run.review_ms.append(ms)
        run.count("review", response.status_code)


async def _voter(
    client: httpx.AsyncClient, run: Run, headers: list[dict[str, str]], rng: random.Random
) -> None:
    while run.votes_left > 0:
        if not run.approved:
            await asyncio.sleep(0.01)
            continue
        run.votes_left -= 1
        review_id, author = rng.choice(run.approved)
        voter = rng.randrange(len(headers))
        if voter == author:
            voter = (voter + 1) % len(headers)
        response, ms = await _timed(
            client,
            "POST",
            f"/api/v1/reviews/{review_id}/vote",
            json={"helpful": rng.random() < 0.7},
            headers=headers[voter],
        )
        run.vote_ms.append(ms)
        run.count("vote", response.status_code)


async def _moderator(
    client: httpx.AsyncClient, run: Run, headers: dict[str, str], authors: dict[str, int], turn: int
) -> None:
    while True:
        response = await client.get("/api/v1/admin/reviews?status=pending&limit=100", headers=headers)
        rows = response.json()["data"]
        # Two moderators split the queue by id, as two people taking turns would.
        mine = [r["id"] for r in rows if r["id"] % 2 == turn]
        if mine:
            body = {"action": "approve", "note": "bench", "ids": mine}
            done, ms = await _timed(client, "POST", "/api/v1/admin/reviews/bulk", json=body, headers=headers)
            run.moderation_ms.append(ms)
            run.count("bulk", done.status_code)
            for row in rows:
                if row["id"] in done.json()["data"]["decided"]:
                    run.approved.append((row["id"], authors[row["author_name"]]))
        elif run.posting_done.is_set() and not rows:
            return
        else:
            await asyncio.sleep(0.05)


async def _health(client: httpx.AsyncClient, run: Run) -> None:
    while not run.done.is_set():
        response, ms = await _timed(client, "GET", "/health")
        run.health_ms.append(ms)
        run.count("health", response.status_code)
        await asyncio.sleep(0.05)


async def _drift(db: Database, product_ids: list[int]) -> tuple[int, int, int]:
    async with db.session() as session:
        report = await summary.recompute(session, fix=False)
        stored = (
            await session.execute(
                select(func.count()).select_from(Review).where(Review.product_id.in_(product_ids))
            )
        ).scalar_one()
        approved = (
            await session.execute(select(func.sum(Product.rating_count)).where(Product.id.in_(product_ids)))
        ).scalar_one()
    return len(report.drifted), int(stored), int(approved or 0)


async def run(args: argparse.Namespace) -> None:
    _require_loopback(args.url)
    db = Database(os.environ["EMPORIUM_DATABASE_URL"])
    rng = random.Random(11)  # noqa: S311 - a benchmark's choices, not security
    try:
        product_ids, emails, staff = await _setup(db, args.customers, args.products)
        per_customer = -(-args.reviews // args.customers)
        if per_customer > args.products:
            raise SystemExit("each customer reviews a product once: add products or customers")
        pairs = [
            (c, product_ids[(c * 7 + t) % len(product_ids)])
            for c in range(args.customers)
            for t in range(per_customer)
        ][: args.reviews]
        rng.shuffle(pairs)
        limits = httpx.Limits(
            max_connections=args.concurrency + 8, max_keepalive_connections=args.concurrency + 8
        )
        async with httpx.AsyncClient(base_url=args.url, limits=limits, timeout=120) as client:
            headers = await _sign_in(client, emails)
            mods = await _sign_in(client, staff)
            authors = {f"Reviewer{i} B.": i for i in range(len(emails))}
            state = Run(args.reviews, args.votes)
            work: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
            for pair in pairs:
                work.put_nowait(pair)
            probe = asyncio.create_task(_health(client, state))
            started = time.perf_counter()
            writers = args.concurrency // 2 or 1
            voters = max(1, args.concurrency - writers)
            moderating = [
                asyncio.create_task(_moderator(client, state, mods[i], authors, i)) for i in range(2)
            ]
            voting = [asyncio.create_task(_voter(client, state, headers, rng)) for _ in range(voters)]
            await asyncio.gather(*(_worker(client, state, work, headers, rng) for _ in range(writers)))
            state.posting_done.set()
            await asyncio.gather(*moderating, *voting)
            elapsed = time.perf_counter() - started
            state.done.set()
            await probe
        drifted, stored, counted = await _drift(db, product_ids)
    finally:
        await db.dispose()
    ops = len(state.review_ms) + len(state.vote_ms)
    print(f"reviews posted {len(state.review_ms)}, votes {len(state.vote_ms)} in {elapsed:.2f} s")
    print(f"reviews+votes per second: {ops / elapsed:.1f}")
    print(f"review POST p50 {statistics.median(state.review_ms):.1f} ms, p95 {p95(state.review_ms):.1f} ms")
    print(f"vote POST p50 {statistics.median(state.vote_ms):.1f} ms, p95 {p95(state.vote_ms):.1f} ms")
    print(f"bulk approve ({len(state.moderation_ms)} calls) p95 {p95(state.moderation_ms):.1f} ms")
    health = state.health_ms
    print(f"/health in the same run: p50 {statistics.median(health):.1f} ms, p95 {p95(health):.1f} ms")
    print(f"statuses: {dict(sorted(state.statuses.items()))}")
    print(f"stored reviews {stored}, counted in summaries {counted}, products drifted: {drifted}")
    if drifted:
        raise SystemExit("drift: a summary differs from the recount")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8070")
    parser.add_argument("--reviews", type=int, default=1000)
    parser.add_argument("--votes", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=32)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
