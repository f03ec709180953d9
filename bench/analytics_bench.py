"""Time the back office's figures on a PostgreSQL shop with many orders: the home page for each period, each
report over a month and over a year, and the two API endpoints, served in-process (server time, no network).

    .venv/bin/python bench/analytics_bench.py \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/emporium_bench_analytics --orders 100000

The database is emptied, migrated and filled with ``--orders`` orders placed one after another over the
last ``--days`` days (most sold, some pending, cancelled or refunded; a third by guests), their lines and
ledger rows, customers, carts and pools, then vacuumed; each page is requested once, then ``--repeat``
times, and its p50 and p95 printed. Its name must contain "bench" or "test", since it is emptied.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import statistics
import time
from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from emporium import install
from emporium.accounts.service import auth
from emporium.app import create_app
from emporium.core.context import build_context
from emporium.core.db import create_engine, utcnow
from emporium.core.migrations import upgrade_async
from emporium.settings import AppSettings

PASSWORD = "correct horse battery staple"  # noqa: S105 - the bench's own throwaway staff account
CSRF = re.compile(r'<meta name="csrf-token" content="([A-Za-z0-9_-]+)">')

SEED = """
INSERT INTO categories (name, slug, parent_id, position, is_active, path, created_at, updated_at)
SELECT 'Bench category ' || g, 'bench-category-' || g, NULL, g, true, '/', now(), now()
FROM generate_series(1, 12) g;
UPDATE categories SET path = '/' || id || '/';
INSERT INTO stock_pools (name, unit, on_hand, reserved, low_stock_threshold, created_at, updated_at)
SELECT 'Bench pool ' || g, 'pc', (g * 37) % 500, 0, 20, now(), now()
FROM generate_series(1, :products) g;
INSERT INTO products (name, slug, description_html, category_id, status, is_featured, currency,
                      price_min_minor, price_max_minor, rating_average, rating_count, sold_count, created_at,
                      updated_at)
SELECT 'Bench product ' || g, 'bench-product-' || g, '', (SELECT min(id) FROM categories) + g % 12,
       'active', false, 'USD', 1000 + g, 1000 + g, 0, 0, 0, now(), now()
FROM generate_series(1, :products) g;
INSERT INTO product_variants (product_id, sku, name, options, price_minor, is_active, is_default, position,
                              pool_id, draw_per_unit, created_at, updated_at)
SELECT p.id, 'BENCH-' || p.id, p.name, '{}', p.price_min_minor, true, true, 0,
       (SELECT min(id) FROM stock_pools) + (p.id - (SELECT min(id) FROM products)), 1, now(), now()
FROM products p WHERE p.slug LIKE 'bench-product-%';
INSERT INTO users (email, role, is_active, created_at, updated_at)
SELECT 'bench-' || g || '@example.com', 'customer', true,
       now() - (random() * (:days + 30)) * interval '1 day', now()
FROM generate_series(1, :customers) g;
INSERT INTO orders (number, user_id, contact_name, contact_email, status, payment_status, payment_method,
                    stock_state, currency, subtotal_minor, discount_minor, shipping_minor, tax_minor,
                    total_minor, prices_include_tax, coupon_code, shipping_method_name, shipping_address,
                    billing_address, invoice_number, invoiced_at, created_at, updated_at)
SELECT 'ORD-BENCH-' || g,
       CASE WHEN g % 3 = 0 THEN NULL ELSE (SELECT min(id) FROM users) + (g::bigint * 7919) % :customers END,
       'Buyer', 'guest-' || (g::bigint * 104729) % (:orders / 2) || '@example.com',
       s.status, 'paid', (ARRAY['test', 'cash_on_delivery', 'bank_transfer'])[1 + g % 3], 'deducted', 'USD',
       2000 + g % 9000, CASE WHEN g % 7 = 0 THEN 300 ELSE 0 END, 500, 0,
       2200 + g % 9000 - CASE WHEN g % 7 = 0 THEN 300 ELSE 0 END,
       false, CASE WHEN g % 7 = 0 THEN 'BENCH' || g % 40 END, 'Standard', '{}', '{}',
       CASE WHEN s.status NOT IN ('pending', 'cancelled') OR g % 40 = 1 THEN 'INV-BENCH-' || g END,
       NULL, t.at, t.at
FROM generate_series(1, :orders) g
CROSS JOIN LATERAL (
  SELECT now() - (:days * (1 - g::float / :orders) + random() / 24) * interval '1 day' AS at
) t
CROSS JOIN LATERAL (
  SELECT CASE
    WHEN g % 20 = 0 THEN 'pending' WHEN g % 20 = 1 THEN 'cancelled' WHEN g % 20 = 2 THEN 'refunded'
    WHEN g % 20 = 3 THEN 'partially_refunded' WHEN g % 20 < 8 THEN 'confirmed' WHEN g % 20 < 12 THEN 'shipped'
    ELSE 'delivered' END AS status
) s;
INSERT INTO order_lines (order_id, product_id, variant_id, pool_id, product_name, variant_name, sku, options,
                         quantity, stock_draw, unit_price_minor, subtotal_minor, discount_minor, tax_minor,
                         total_minor)
SELECT o.id, v.product_id, v.id, v.pool_id, 'Bench product', 'Bench product', v.sku, '{}', 1 + n, 1 + n,
       v.price_minor, v.price_minor * (1 + n), 0, 0, v.price_minor * (1 + n)
FROM orders o
CROSS JOIN generate_series(0, 1) n
JOIN product_variants v ON v.id = (SELECT min(id) FROM product_variants) + (o.id * 31 + n * 17) % :products
WHERE n = 0 OR o.id % 2 = 0;
INSERT INTO payment_transactions (order_id, kind, status, amount_minor, currency, gateway, raw_response,
                                  idempotency_key, created_at)
SELECT id, 'capture', 'succeeded', total_minor, 'USD', payment_method, '{}', 'capture', created_at
FROM orders WHERE invoice_number IS NOT NULL;
INSERT INTO payment_transactions (order_id, kind, status, amount_minor, currency, gateway, raw_response,
                                  idempotency_key, created_at)
SELECT id, 'refund', 'succeeded', CASE WHEN status = 'refunded' THEN total_minor ELSE total_minor / 3 END,
       'USD', payment_method, '{}', 'refund', least(created_at + interval '3 days', now())
FROM orders WHERE status IN ('refunded', 'partially_refunded');
INSERT INTO carts (user_id, token_hash, coupon_code, expires_at, created_at, updated_at)
SELECT NULL, md5('bench-cart-' || g) || md5('more-' || g), NULL, now() + interval '7 days', t.at,
       t.at + interval '20 minutes'
FROM generate_series(1, :carts) g
CROSS JOIN LATERAL (SELECT now() - (random() * 30 + g * 0) * interval '1 day' AS at) t;
INSERT INTO cart_items (cart_id, variant_id, quantity, price_seen_minor, created_at, updated_at)
SELECT c.id, (SELECT min(id) FROM product_variants) + c.id % :products, 1, 1000, c.created_at, c.updated_at
FROM carts c WHERE c.id % 3 = 0;
"""


async def seed(url: str, orders: int, days: int) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await upgrade_async(url)
    values = {
        "orders": orders,
        "days": days,
        "customers": max(orders // 5, 10),
        "products": 400,
        "carts": max(orders // 10, 10),
    }
    started = time.perf_counter()
    async with engine.begin() as conn:
        for statement in SEED.split(";\n"):
            if statement.strip():
                await conn.execute(text(statement), {k: v for k, v in values.items() if f":{k}" in statement})
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()
    print(f"seeded {orders} orders in {time.perf_counter() - started:.1f} s")


async def measure(url: str, repeat: int) -> None:
    install.wire()
    settings = AppSettings(  # type: ignore[call-arg]
        database_url=url,
        jobs_run_in_process=False,
        rate_limit_storage="memory",
        rate_limit_staff="1000000/minute",
    )
    ctx = build_context(settings)
    async with ctx.db.session() as session:
        await session.execute(text("DELETE FROM users WHERE email = 'bench@staff.test'"))
        await auth.create_user(session, ctx, email="bench@staff.test", password=PASSWORD, role="super_admin")
    transport = httpx.ASGITransport(app=create_app(ctx=ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        page = await client.get("/admin/sign-in")
        token = CSRF.search(page.text)
        assert token is not None
        form = {
            "email": "bench@staff.test",
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "/admin",
        }
        assert (await client.post("/admin/sign-in", data=form)).status_code == 303
        login = await client.post(
            "/api/v1/auth/login", json={"email": "bench@staff.test", "password": PASSWORD}
        )
        bearer = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
        today = utcnow().date()
        month, year = (today - timedelta(days=29)).isoformat(), (today - timedelta(days=364)).isoformat()
        targets: list[tuple[str, dict[str, str]]] = [
            ("/admin", {"period": p}) for p in ("today", "7d", "30d")
        ]
        for report in (
            "sales",
            "products",
            "categories",
            "payment_methods",
            "coupons",
            "refunds",
            "customers",
        ):
            targets.append(("/admin/reports", {"report": report, "from": month}))
            targets.append(("/admin/reports", {"report": report, "from": year, "granularity": "week"}))
        targets.append(("/api/v1/admin/stats", {"period": "30d"}))
        targets.append(("/api/v1/admin/analytics", {"from": month}))
        print(f"{'page':<72} {'p50 ms':>8} {'p95 ms':>8}")
        for path, params in targets:
            # Once unmeasured: the first request of a statement prepares it and warms the caches.
            headers = bearer if path.startswith("/api/") else {}
            await client.get(path, params=params, headers=headers)
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                response = await client.get(path, params=params, headers=headers)
                times.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, (path, params, response.text[:300])
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            label = path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
            print(f"{label:<72} {statistics.median(times):8.1f} {p95:8.1f}")
    await ctx.close()


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-seed", action="store_true", help="measure the database as it is")
    args = parser.parse_args()
    name = make_url(args.database_url).database or ""
    if not args.database_url.startswith("postgresql") or not ("bench" in name or "test" in name):
        raise SystemExit("give a PostgreSQL database whose name contains 'bench' or 'test': it is emptied")
    if not args.no_seed:
        asyncio.run(seed(args.database_url, args.orders, args.days))
    asyncio.run(measure(args.database_url, args.repeat))


if __name__ == "__main__":
    main()
