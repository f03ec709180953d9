"""Fill a PostgreSQL shop with a year of history for the back-office benchmark (bench/backoffice_bench.py).

    psql -h 127.0.0.1 -U postgres -c "create database emporium_bench_backoffice"
    export EMPORIUM_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/emporium_bench_backoffice
    .venv/bin/emporium migrate
    time .venv/bin/python bench/seed_backoffice.py            # --reset to empty a filled one first

What it writes (the default sizes):
- 100,000 products by the demo's bulk loader (about 226,000 variants, their stock pools, categories,
  brands, tags and search documents), put on sale 401 to 800 days ago;
- the demo's tax rates, shipping zones and coupons, and eight more coupons (seasonal, a Black Friday one,
  one for a category, one with a usage limit, one withdrawn);
- 20,000 customers signed up over two years (70 % with a phone in E.164, most with one to three
  addresses; a few deactivated, a few erased as ``erase_user`` leaves them), all with the password
  ``bench-customer-pass`` (one argon2 hash, shared);
- 100,000 orders over the last 400 days, a quarter of them by guests, priced by the shop's own
  ``compute_totals`` (so every total is its lines + shipping + tax - discount), each with the life the
  shop's code would have given it: paid by card (Stripe, PayPal) or by a recorded bank transfer, cash on
  delivery; confirmed, processed, shipped and delivered by staff; expired, cancelled, returned; refunded
  in full or in part (staff refunds by line and shipping, with their ``refund_lines``; automatic refunds
  of cancelled paid orders by amount). Every step is an order event; payments and the ledger match the
  payment status;
  confirmed orders carry gap-free invoice numbers; pools hold the pending orders' reservations and an
  adjustment for every deduction and restock; products count their units sold; coupon uses are
  redeemed and counted;
- carts: customers' kept carts, guests' emptied ones, abandoned ones with items;
- the audit log of the last 2 days of staff changes (a few thousand entries);
- staff accounts, made through the accounts service (real argon2 hashes), printed at the end with their
  password: owner (super_admin), admin, support, and admin-2 ... admin-8 for the concurrent runs.

It refuses a database that is not PostgreSQL on a loopback address, one that is not migrated to head, and
one that already holds users, products or orders (``--reset`` empties every table first). Rows go by COPY
in one transaction, with the foreign keys of the filled tables checked once at the end, then the database
is vacuumed and analysed. On the 2-core development machine, shared with other work, the default sizes
took 1 min 54 s to 2 min 17 s and make a database of about 860 MB. The random source is seeded
(``--seed``): two runs make the same shop, except for what depends on the moment they run (which of an
order's next steps have happened yet).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from typing import Any, TypeVar

import asyncpg
from alembic.script import ScriptDirectory
from backoffice_seed.common import (
    StaffMember,
    asyncpg_dsn,
    copy_rows,
    drop_foreign_keys,
    require_loopback_postgres,
    reserve_ids,
    restore_foreign_keys,
)
from backoffice_seed.extras import CartLifetimes, Carts, write_audit
from backoffice_seed.people import ADDRESS_COLUMNS, PREFERENCE_COLUMNS, USER_COLUMNS, People, customer_rows
from backoffice_seed.planner import OrderPlanner
from backoffice_seed.rows import backdate_catalog, number, write_orders, write_stock
from backoffice_seed.shop import Shop, add_coupons

STAFF_DOMAIN = "bench.emporium.localhost"
STAFF_PASSWORD = "bench-staff-pass"  # noqa: S105 - published on purpose: a benchmark database only
CUSTOMER_PASSWORD = "bench-customer-pass"  # noqa: S105 - the same
STAFF = (
    ("owner", "super_admin", "Olive", "Owner"),
    ("admin", "admin", "Ada", "Admin"),
    ("support", "support", "Sam", "Support"),
    *((f"admin-{n}", "admin", "Bench", f"Admin {n}") for n in range(2, 9)),
)
# The tables filled by COPY whose foreign keys are checked once at the end rather than row by row.
FILLED_TABLES = (
    "addresses",
    "notification_preferences",
    "orders",
    "order_lines",
    "order_events",
    "payments",
    "payment_transactions",
    "coupon_redemptions",
    "stock_adjustments",
    "carts",
    "cart_items",
)
T = TypeVar("T")


class Phases:
    """Times each phase and prints it as it ends."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.times: list[tuple[str, float]] = []

    async def run(self, name: str, step: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        result = await step()
        self.times.append((name, time.perf_counter() - started))
        print(f"  {name}: {self.times[-1][1]:.1f} s", flush=True)
        return result


async def _check_database(conn: Any, url: str, reset: bool) -> None:
    from emporium.core.migrations import alembic_config

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    try:
        current = await conn.fetchval("SELECT version_num FROM alembic_version")
    except asyncpg.UndefinedTableError:
        current = None
    if current != head:
        raise SystemExit(f"the database is at {current}, not {head}: run `emporium migrate` first")
    if reset:
        tables = [
            r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        emptied = ", ".join(f'"{t}"' for t in tables if t != "alembic_version")
        await conn.execute(f"TRUNCATE {emptied} RESTART IDENTITY CASCADE")
        await conn.execute("ALTER SEQUENCE order_number_seq RESTART")
        return
    filled = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM products) "
        "OR EXISTS (SELECT 1 FROM orders)"
    )
    if filled:
        raise SystemExit(
            "the database already holds users, products or orders: add --reset to empty it first"
        )


async def _staff_and_catalog(ctx: Any, products: int) -> tuple[list[StaffMember], str]:
    """Through the shop's own services: staff accounts, the demo pricing, the bulk catalog."""
    from emporium.accounts.service import auth
    from emporium.demo.models import AppliedSeed
    from emporium.demo.pricing import load_demo_pricing
    from emporium.demo.service import top_up_products

    staff = []
    async with ctx.db.session() as session:
        for n, (name, role, first, last) in enumerate(STAFF, start=1):
            user = await auth.create_user(
                session,
                ctx,
                email=f"{name}@{STAFF_DOMAIN}",
                password=STAFF_PASSWORD,
                role=role,
                first_name=first,
                last_name=last,
            )
            staff.append(StaffMember(user.id, user.email, role, f"10.20.0.{n}"))
        await load_demo_pricing(session)
        session.add(AppliedSeed(name="demo:pricing"))
    await top_up_products(ctx, products)
    return staff, await ctx.passwords.hash(CUSTOMER_PASSWORD)


async def _history(
    conn: Any, args: argparse.Namespace, settings: Any, staff: list[StaffMember], pw: str, phases: Phases
) -> None:
    """Everything else, in one transaction, by COPY."""
    rng = random.Random(args.seed)  # noqa: S311 - made-up shop data, not security
    now = (await conn.fetchval("SELECT now()")).astimezone(UTC)
    await conn.execute("UPDATE users SET created_at = $1, updated_at = $1", now - timedelta(days=810))
    await add_coupons(conn, now)
    await phases.run("catalog dated back", lambda: backdate_catalog(conn, now))
    shop = await phases.run("catalog read", lambda: Shop.load(conn, rng))
    people = People(rng)
    customers = people.customers(await reserve_ids(conn, "users", args.customers), now)
    operators = [s for s in staff if s.role in ("support", "admin")]
    admins = [s for s in staff if s.role == "admin"]
    planner = OrderPlanner(
        rng,
        now,
        shop,
        people,
        customers,
        (operators, admins),
        currency=settings.currency,
        prices_include_tax=settings.prices_include_tax,
    )

    async def plan() -> list[Any]:
        return [planner.plan(at) for at in planner.moments(args.orders)]

    plans = await phases.run("orders planned", plan)
    counters = await number(conn, plans, settings.invoice_prefix)
    users, addresses, preferences = customer_rows(customers, pw, now, rng)
    dropped = await drop_foreign_keys(conn, FILLED_TABLES)

    async def write_people() -> None:
        await copy_rows(conn, "users", USER_COLUMNS, users)
        await copy_rows(conn, "addresses", ADDRESS_COLUMNS, addresses)
        await copy_rows(conn, "notification_preferences", PREFERENCE_COLUMNS, preferences)

    await phases.run("customers written", write_people)
    currency, include_tax = settings.currency, settings.prices_include_tax
    await phases.run("orders written", lambda: write_orders(conn, plans, currency, include_tax))
    await phases.run("stock written", lambda: write_stock(conn, plans, shop, now))
    for coupon in shop.coupons:
        await conn.execute("UPDATE coupons SET used_count = $1 WHERE id = $2", coupon.used, coupon.id)
    for series, last in counters.items():
        await conn.execute("INSERT INTO invoice_counters (series, last_value) VALUES ($1, $2)", series, last)
    carts = Carts(
        rng,
        now,
        shop,
        CartLifetimes(
            timedelta(days=settings.cart_guest_ttl_days), timedelta(days=settings.cart_user_ttl_days)
        ),
    )
    carts.from_orders(plans)
    recent_guests = sum(1 for c in carts.carts if c.user_id is None)
    carts.left(customers, guests=int(recent_guests * 2.5), by_customers=args.customers // 12, active=40)
    await phases.run("carts written", lambda: carts.write(conn))
    since = now - timedelta(days=args.audit_days)
    await phases.run("audit written", lambda: write_audit(conn, rng, now, since, plans, customers, admins))
    await phases.run("foreign keys checked", lambda: restore_foreign_keys(conn, dropped))


async def seed(args: argparse.Namespace) -> None:
    url = os.environ.get("EMPORIUM_DATABASE_URL", "")
    require_loopback_postgres(url)
    # The seeding signs nobody in: its rate limiter needs no shared file.
    os.environ.setdefault("EMPORIUM_RATE_LIMIT_STORAGE", "memory")
    from emporium import install
    from emporium.core.context import build_context
    from emporium.settings import get_settings

    settings = get_settings()
    install.wire()
    ctx = build_context(settings)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    phases = Phases()
    try:
        await _check_database(conn, url, args.reset)
        print(f"Seeding {conn.get_settings().server_version} database {make_name(url)}:", flush=True)
        staff, password_hash = await phases.run(
            f"staff, pricing and {args.products:,} products", lambda: _staff_and_catalog(ctx, args.products)
        )
        async with conn.transaction():
            await _history(conn, args, settings, staff, password_hash, phases)
        # Vacuumed as a shop's tables are: statistics for the planner, visibility maps for index-only scans.
        await phases.run("vacuum analyze", lambda: conn.execute("VACUUM (ANALYZE)"))
        await _report(conn, phases, staff)
    finally:
        await conn.close()
        await ctx.close()


def make_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database or "?"


async def _report(conn: Any, phases: Phases, staff: list[StaffMember]) -> None:
    print(f"Done in {time.perf_counter() - phases.started:.1f} s.")
    counts = await conn.fetch(
        "SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE n_live_tup > 0 ORDER BY relname"
    )
    for relname, rows in counts:
        print(f"  {relname:28} {rows:>10,}")
    size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    print(f"Database size: {size}")
    print(f"Staff accounts (password {STAFF_PASSWORD!r}):")
    for member in staff:
        print(f"  {member.role:12} {member.email}")
    print(f"Customers sign in with {CUSTOMER_PASSWORD!r}.")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reset", action="store_true", help="empty every table of the database first")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--audit-days", type=int, default=2, help="days of audit log before now")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if not (1_000 <= args.products <= 1_000_000 and 100 <= args.customers <= 1_000_000):
        raise SystemExit("products must be 1,000..1,000,000 and customers 100..1,000,000")
    if not (100 <= args.orders <= 2_000_000 and 0 <= args.audit_days <= 400):
        raise SystemExit("orders must be 100..2,000,000 and audit days 0..400")
    asyncio.run(seed(args))


if __name__ == "__main__":
    main()
