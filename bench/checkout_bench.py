"""Checkouts per second against a running shop, and a race for scarce stock.

    EMPORIUM_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/emporium_bench \
        EMPORIUM_RATE_LIMIT_CHECKOUT=1000000/minute EMPORIUM_GUEST_CHECKOUT_RATE_LIMIT=1000000/minute \
        EMPORIUM_OPEN_ORDERS_PER_EMAIL=0 EMPORIUM_OPEN_ORDERS_PER_PHONE=0 \
        EMPORIUM_OPEN_ORDERS_PER_CLIENT_ADDRESS=0 .venv/bin/emporium serve --port 8030 --workers 2 &
    EMPORIUM_DATABASE_URL=... .venv/bin/python bench/checkout_bench.py --url http://127.0.0.1:8030 \
        --scenario spread --buyers 2000 --concurrency 32
    EMPORIUM_DATABASE_URL=... .venv/bin/python bench/checkout_bench.py --url http://127.0.0.1:8030 \
        --scenario race --buyers 200 --units 100 --concurrency 200

The cart add: ``--scenario add --lines N`` gives every buyer a guest cart holding one line, then each sends
one POST /api/v1/cart/items with N more lines (distinct in-stock variants) and the script prints adds/s
and lines/s; ``--sql`` runs the same add in this process instead (no server, the app built from the
environment) and prints the SQL statements it sent, per request and per line:

    EMPORIUM_DATABASE_URL=... .venv/bin/python bench/checkout_bench.py --url http://127.0.0.1:8030 \
        --scenario add --lines 12 --buyers 2000 --concurrency 32
    EMPORIUM_DATABASE_URL=... .venv/bin/python bench/checkout_bench.py --scenario add --sql --lines 1,12,100

Beside the bare endpoint, and two trees side by side (say main's and a branch's, served on one database on
two ports): ``--rounds`` alternates the bare endpoint (bench/hello_app.py) and each shop of ``--url`` in
rounds of one run, so a shared machine's changing load falls on all of them alike:

    .venv/bin/uvicorn --app-dir bench hello_app:app --port 8132 --workers 2 --log-level warning &
    EMPORIUM_DATABASE_URL=... .venv/bin/python bench/checkout_bench.py \
        --url http://127.0.0.1:8131,http://127.0.0.1:8133 --bare http://127.0.0.1:8132 \
        --scenario spread --buyers 300 --concurrency 8 --rounds 6

For checkout, the guest carts are written straight into the database first (that is not what is
measured); then every buyer sends one POST /api/v1/orders and the script prints orders/s, latencies and
the oversell count read back from the database (pools whose reservations exceed their stock, and for
``race`` the orders placed beyond the units there were). Targets only loopback addresses and stops by itself.
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
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import func, select

import emporium.models  # noqa: F401 - every table, so foreign keys resolve
from emporium.cart.models import Cart, CartItem
from emporium.cart.service import token_digest
from emporium.catalog.models import Product, ProductVariant
from emporium.core.db import Database, utcnow
from emporium.inventory.models import StockPool
from emporium.orders.models import Order, OrderLine
from emporium.pricing.models import ShippingMethod, ShippingZone

ADDRESS = {
    "full_name": "Bench Buyer",
    "phone": "+1 202 555 0100",
    "line1": "1 Loop Road",
    "city": "Localhost",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
}


def _require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        raise SystemExit(f"refusing to load {host}: this benchmark only targets loopback addresses")


async def _shipping_method(db: Database) -> int:
    async with db.session() as session:
        found = (await session.execute(select(ShippingMethod.id).limit(1))).scalar_one_or_none()
        if found is not None:
            return int(found)
        zone = ShippingZone(name="Bench zone", countries=["*"])
        session.add(zone)
        await session.flush()
        method = ShippingMethod(zone_id=zone.id, name="Bench flat", kind="flat_rate", price_minor=500)
        session.add(method)
        await session.flush()
        return method.id


async def _spread_carts(db: Database, buyers: int) -> list[str]:
    """One cart per buyer with 1-3 random in-stock variants of active products."""
    async with db.session() as session:
        rows = (
            await session.execute(
                select(ProductVariant.id, ProductVariant.price_minor)
                .join(Product, Product.id == ProductVariant.product_id)
                .join(StockPool, StockPool.id == ProductVariant.pool_id)
                .where(
                    Product.status == "active",
                    ProductVariant.is_active,
                    StockPool.on_hand - StockPool.reserved >= ProductVariant.draw_per_unit * 3,
                )
                .limit(20_000)
            )
        ).all()
    if not rows:
        raise SystemExit("no variant in stock: load a catalog first (emporium demo --products 10000)")
    rng = random.Random(7)  # noqa: S311 - a benchmark's choice of products, not security
    return await _write_carts(
        db, [rng.sample(rows, k=min(len(rows), rng.randint(1, 3))) for _ in range(buyers)]
    )


async def _in_stock(db: Database, count: int) -> list[tuple[int, int]]:
    """Up to ``count`` variants of active products with a few units to spare: (id, price)."""
    async with db.session() as session:
        rows = (
            await session.execute(
                select(ProductVariant.id, ProductVariant.price_minor)
                .join(Product, Product.id == ProductVariant.product_id)
                .join(StockPool, StockPool.id == ProductVariant.pool_id)
                .where(
                    Product.status == "active",
                    ProductVariant.is_active,
                    StockPool.on_hand - StockPool.reserved >= ProductVariant.draw_per_unit * 3,
                )
                .order_by(ProductVariant.id)
                .limit(count)
            )
        ).all()
    if len(rows) < count:
        raise SystemExit(f"fewer than {count} variants in stock: load a catalog first (emporium demo)")
    return [(int(v), int(p)) for v, p in rows]


async def _adds(db: Database, buyers: int, lines: int) -> list[tuple[str, dict[str, object]]]:
    """One guest cart per buyer holding one line, and the body of the N-line add each buyer sends."""
    rows = await _in_stock(db, max(200, lines + 1))
    rng = random.Random(11)  # noqa: S311 - a benchmark's choice of products, not security
    picks = [rng.sample(rows, k=lines + 1) for _ in range(buyers)]
    tokens = await _write_carts(db, [[pick[0]] for pick in picks])
    # One line goes as the single-line body, several as a list.
    return [
        (token, {"variant_id": pick[1][0], "quantity": 1})
        if lines == 1
        else (token, {"items": [{"variant_id": v, "quantity": 1} for v, _ in pick[1:]]})
        for token, pick in zip(tokens, picks, strict=True)
    ]


async def count_add_sql(line_counts: list[int]) -> None:
    """The statements one N-line add sends, in this process, for each N of ``line_counts``."""
    from sqlalchemy import event

    from emporium.app import create_app
    from emporium.core.context import build_context
    from emporium.settings import get_settings

    ctx = build_context(get_settings())
    sent: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")):
            sent.append(statement)

    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", record)
    try:
        transport = httpx.ASGITransport(app=create_app(ctx=ctx))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            # A first request fills the process's caches (the store's settings), as a served shop has.
            ((token, body),) = await _adds(ctx.db, 1, 1)
            await client.post("/api/v1/cart/items", json=body, headers={"X-Cart-Token": token})
            for lines in line_counts:
                ((token, body),) = await _adds(ctx.db, 1, lines)
                sent.clear()
                response = await client.post("/api/v1/cart/items", json=body, headers={"X-Cart-Token": token})
                if response.status_code != 201:
                    raise SystemExit(f"the add was refused: {response.text}")
                print(
                    f"lines={lines} statements={len(sent)} per line={len(sent) / lines:.2f} "
                    f"({ctx.db.engine.dialect.name}, a guest's cart that exists)"
                )
    finally:
        event.remove(ctx.db.engine.sync_engine, "before_cursor_execute", record)
        await ctx.db.dispose()


async def _race_carts(db: Database, buyers: int, units: int) -> tuple[list[str], int]:
    """A fresh product with ``units`` in stock, and one cart per buyer holding one of it."""
    async with db.session() as session:
        pool = StockPool(name="Bench race", unit="pc", on_hand=units, reserved=0, low_stock_threshold=0)
        session.add(pool)
        await session.flush()
        product = Product(
            name="Bench race item", slug=f"bench-race-{secrets.token_hex(4)}", status="active", currency="USD"
        )
        session.add(product)
        await session.flush()
        variant = ProductVariant(
            product_id=product.id,
            sku=f"RACE-{secrets.token_hex(4)}",
            name="Only",
            price_minor=999,
            pool_id=pool.id,
            draw_per_unit=1,
            is_default=True,
            options={},
        )
        session.add(variant)
        await session.flush()
        pool_id, row = pool.id, (variant.id, variant.price_minor)
    return await _write_carts(db, [[row] for _ in range(buyers)]), pool_id


async def _write_carts(db: Database, baskets: list[list[tuple[int, int]]]) -> list[str]:
    tokens = [secrets.token_urlsafe(24) for _ in baskets]
    async with db.session() as session:
        carts = [Cart(token_hash=token_digest(t), expires_at=utcnow() + timedelta(days=1)) for t in tokens]
        session.add_all(carts)
        await session.flush()
        session.add_all(
            CartItem(cart_id=cart.id, variant_id=variant_id, quantity=1, price_seen_minor=price)
            for cart, basket in zip(carts, baskets, strict=True)
            for variant_id, price in basket
        )
    return tokens


async def _oversold(db: Database, race_pool: int | None, units: int) -> int:
    async with db.session() as session:
        bad_pools = (
            await session.execute(
                select(func.count()).select_from(StockPool).where(StockPool.reserved > StockPool.on_hand)
            )
        ).scalar_one()
        beyond = 0
        if race_pool is not None:
            sold = (
                await session.execute(
                    select(func.coalesce(func.sum(OrderLine.stock_draw), 0))
                    .join(Order, Order.id == OrderLine.order_id)
                    .where(OrderLine.pool_id == race_pool, Order.status != "cancelled")
                )
            ).scalar_one()
            beyond = max(0, int(sold) - units)
    return int(bad_pools) + beyond


async def _run_adds(url: str, db: Database, buyers: int, lines: int, concurrency: int) -> None:
    work = await _adds(db, buyers, lines)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

        async def buyer() -> None:
            while work:
                token, body = work.pop()
                started = time.perf_counter()
                response = await client.post("/api/v1/cart/items", json=body, headers={"X-Cart-Token": token})
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(buyer() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    added = statuses.get(201, 0)
    q = statistics.quantiles(latencies, n=100)
    print(
        f"scenario=add lines={lines} buyers={buyers} concurrency={concurrency} "
        f"statuses={dict(sorted(statuses.items()))}\n"
        f"adds={added} in {elapsed:.1f} s = {added / elapsed:.0f} adds/s "
        f"= {added * lines / elapsed:.0f} lines/s  "
        f"p50={q[49]:.0f} ms  p95={q[94]:.0f} ms  p99={q[98]:.0f} ms"
    )


async def _run_bare(url: str, requests: int, concurrency: int) -> None:
    """The bare endpoint (bench/hello_app.py) through the same client at the same concurrency: the ceiling
    of this machine and server setup in this run, to read the checkout's figures against."""
    _require_loopback(url)
    latencies: list[float] = []
    left = list(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

        async def caller() -> None:
            while left:
                left.pop()
                started = time.perf_counter()
                (await client.get("/")).raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    print(f"bare: {requests / elapsed:.0f} req/s  p50={q[49]:.0f} ms  p95={q[94]:.0f} ms  ({url})")


@dataclass
class _Tally:
    """What one target answered over the rounds: latencies, statuses and the time spent sending."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0

    def line(self, name: str, ok: int) -> str:
        q = statistics.quantiles(self.latencies, n=100)
        done = self.statuses.get(ok, 0)
        return (
            f"{name}: {done / self.elapsed:.0f}/s  p50={q[49]:.0f} ms  p95={q[94]:.0f} ms  "
            f"p99={q[98]:.0f} ms  statuses={dict(sorted(self.statuses.items()))}"
        )


async def _drive(
    client: httpx.AsyncClient, work: list[str], concurrency: int, send: Any, tally: _Tally
) -> None:
    """Send ``send(client, item)`` for every item, ``concurrency`` at a time, into ``tally``."""

    async def sender() -> None:
        while work:
            item = work.pop()
            started = time.perf_counter()
            response = await send(client, item)
            tally.latencies.append((time.perf_counter() - started) * 1000)
            tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    tally.elapsed += time.perf_counter() - started


async def run_rounds(urls: list[str], bare: str, buyers: int, concurrency: int, rounds: int) -> None:
    """Checkout on each shop of ``urls`` (say main's tree and a branch, served side by side on one
    database) and the bare endpoint, in alternating rounds: the machine's load, which moves on a shared
    host, falls on all of them alike. Every shop gets the same baskets (the same random choice)."""
    for url in [*urls, bare]:
        _require_loopback(url)
    db = Database(os.environ["EMPORIUM_DATABASE_URL"])
    try:
        body = _checkout_body(await _shipping_method(db))
        tokens = {url: await _spread_carts(db, buyers) for url in urls}

        async def checkout(client: httpx.AsyncClient, token: str) -> httpx.Response:
            headers = {"X-Cart-Token": token, "Idempotency-Key": f"bench-{token}"}
            return await client.post("/api/v1/orders", json=body, headers=headers)

        async def hello(client: httpx.AsyncClient, _: str) -> httpx.Response:
            return await client.get("/")

        tallies = {url: _Tally() for url in [bare, *urls]}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        clients = {url: httpx.AsyncClient(base_url=url, limits=limits, timeout=120) for url in tallies}
        per_round = -(-buyers // rounds)
        for n in range(rounds):
            await _drive(clients[bare], ["/"] * per_round, concurrency, hello, tallies[bare])
            for url in urls:
                work = tokens[url][n * per_round : (n + 1) * per_round]
                await _drive(clients[url], work, concurrency, checkout, tallies[url])
        for client in clients.values():
            await client.aclose()
        print(f"buyers={buyers} per shop, concurrency={concurrency}, {rounds} alternating rounds")
        print(tallies[bare].line(f"bare {bare}", 200))
        for url in urls:
            print(tallies[url].line(f"checkout {url} orders", 201))
        print(f"oversold={await _oversold(db, None, 0)}")
    finally:
        await db.dispose()


def _checkout_body(method_id: int) -> dict[str, Any]:
    return {
        "shipping_address": ADDRESS,
        "shipping_method_id": method_id,
        "payment_method": "test",
        "guest": {"name": "Bench Buyer", "phone": "+12025550100", "email": "bench@example.com"},
    }


async def run(
    url: str,
    scenario: str,
    buyers: int,
    units: int,
    concurrency: int,
    lines: int = 1,
    bare: str | None = None,
) -> None:
    _require_loopback(url)
    if bare is not None:
        await _run_bare(bare, max(buyers, 1000), concurrency)
    db = Database(os.environ["EMPORIUM_DATABASE_URL"])
    try:
        if scenario == "add":
            await _run_adds(url, db, buyers, lines, concurrency)
            return
        method_id = await _shipping_method(db)
        race_pool = None
        if scenario == "race":
            tokens, race_pool = await _race_carts(db, buyers, units)
        else:
            tokens = await _spread_carts(db, buyers)
        body = _checkout_body(method_id)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        queue: asyncio.Queue[str] = asyncio.Queue()
        for token in tokens:
            queue.put_nowait(token)
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

            async def buyer() -> None:
                while True:
                    try:
                        token = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    started = time.perf_counter()
                    response = await client.post(
                        "/api/v1/orders",
                        json=body,
                        headers={"X-Cart-Token": token, "Idempotency-Key": f"bench-{token}"},
                    )
                    latencies.append((time.perf_counter() - started) * 1000)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

            started = time.perf_counter()
            await asyncio.gather(*(buyer() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        placed = statuses.get(201, 0)
        q = statistics.quantiles(latencies, n=100)
        print(
            f"scenario={scenario} buyers={buyers} concurrency={concurrency} "
            f"statuses={dict(sorted(statuses.items()))}\n"
            f"orders={placed} in {elapsed:.1f} s = {placed / elapsed:.0f} orders/s  "
            f"p50={q[49]:.0f} ms  p95={q[94]:.0f} ms  p99={q[98]:.0f} ms\n"
            f"oversold={await _oversold(db, race_pool, units)}"
        )
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8030")
    parser.add_argument("--scenario", choices=("spread", "race", "add"), default="spread")
    parser.add_argument("--buyers", type=int, default=1000)
    parser.add_argument("--units", type=int, default=100, help="stock of the raced product (race only)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--lines", default="1", help="lines per add (add only); with --sql a list: 1,12,100")
    parser.add_argument("--bare", help="also time the bare endpoint (bench/hello_app.py) at this URL first")
    parser.add_argument(
        "--rounds",
        type=int,
        help="spread only: alternate the bare endpoint (--bare) and each shop of --url (comma-separated) "
        "in this many rounds",
    )
    parser.add_argument("--sql", action="store_true", help="count the SQL of one add in-process (add only)")
    args = parser.parse_args()
    line_counts = [int(n) for n in args.lines.split(",")]
    if args.sql:
        asyncio.run(count_add_sql(line_counts))
        return
    if args.rounds:
        if not args.bare or args.scenario != "spread":
            parser.error("--rounds compares the spread checkout with --bare")
        asyncio.run(run_rounds(args.url.split(","), args.bare, args.buyers, args.concurrency, args.rounds))
        return
    asyncio.run(
        run(args.url, args.scenario, args.buyers, args.units, args.concurrency, line_counts[0], args.bare)
    )


if __name__ == "__main__":
    main()
