"""Planned orders as rows: numbers and invoice numbers, the orders with their lines, timeline, payments,
ledger and coupon uses, then what they did to stock (pools, their adjustments, units sold)."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backoffice_seed.common import as_json, copy_rows, reserve_ids
from backoffice_seed.planner import OrderPlan
from backoffice_seed.shop import Shop

CHUNK = 10_000
ORDER_COLUMNS = (
    "id",
    "number",
    "user_id",
    "contact_name",
    "contact_email",
    "contact_phone",
    "status",
    "payment_status",
    "payment_method",
    "stock_state",
    "currency",
    "subtotal_minor",
    "discount_minor",
    "shipping_minor",
    "tax_minor",
    "total_minor",
    "prices_include_tax",
    "coupon_id",
    "coupon_code",
    "shipping_method_id",
    "shipping_method_name",
    "shipping_address",
    "billing_address",
    "customer_note",
    "carrier",
    "tracking_number",
    "expires_at",
    "client_address",
    "invoice_number",
    "invoiced_at",
    "created_at",
    "updated_at",
)
LINE_COLUMNS = (
    "id",
    "order_id",
    "product_id",
    "variant_id",
    "pool_id",
    "product_name",
    "variant_name",
    "sku",
    "options",
    "quantity",
    "stock_draw",
    "unit_price_minor",
    "subtotal_minor",
    "discount_minor",
    "tax_minor",
    "total_minor",
    "tax_rate_ppm",
)
EVENT_COLUMNS = (
    "order_id",
    "kind",
    "from_status",
    "to_status",
    "note",
    "data",
    "actor_user_id",
    "created_at",
)
PAYMENT_COLUMNS = (
    "id",
    "order_id",
    "gateway",
    "reference",
    "state",
    "amount_minor",
    "currency",
    "client_secret",
    "card_brand",
    "card_last4",
    "error",
    "details",
    "expires_at",
    "created_at",
    "updated_at",
)
TX_COLUMNS = (
    "id",
    "order_id",
    "payment_id",
    "kind",
    "status",
    "amount_minor",
    "currency",
    "gateway",
    "gateway_reference",
    "raw_response",
    "error",
    "reason",
    "idempotency_key",
    "actor_user_id",
    "created_at",
)
REFUND_LINE_COLUMNS = (
    "transaction_id",
    "order_id",
    "order_line_id",
    "quantity",
    "amount_minor",
    "created_at",
)
REDEMPTION_COLUMNS = ("coupon_id", "order_id", "user_id", "email_digest", "discount_minor", "created_at")
ADJUSTMENT_COLUMNS = ("pool_id", "delta", "on_hand_after", "reason", "actor_user_id", "created_at")


def product_created_at(product_id: int, now: datetime) -> datetime:
    """When a product was put on sale: 401 to 800 days ago, before the order history (the same sum in SQL
    in ``backdate_catalog``)."""
    return now - timedelta(days=401 + (product_id * 7919) % 400, seconds=(product_id * 104729) % 86400)


async def backdate_catalog(conn: Any, now: datetime) -> None:
    """The bulk loader stamps everything with the moment of the load; the shop had it before it sold it."""
    created = (
        "$1::timestamptz - make_interval(days => (401 + (id * 7919) % 400)::int, "
        "secs => ((id * 104729) % 86400)::float8)"
    )
    await conn.execute(f"UPDATE products SET created_at = {created}, updated_at = {created}", now)  # noqa: S608
    await conn.execute(
        "UPDATE product_variants v SET created_at = p.created_at, updated_at = p.created_at "
        "FROM products p WHERE p.id = v.product_id"
    )
    await conn.execute(
        "UPDATE stock_pools s SET created_at = f.at, updated_at = f.at FROM "
        "(SELECT pool_id, min(created_at) AS at FROM product_variants GROUP BY pool_id) f "
        "WHERE f.pool_id = s.id"
    )
    opened = now - timedelta(days=810)
    for table in ("categories", "brands", "tax_rates", "shipping_zones", "shipping_methods"):
        await conn.execute(f"UPDATE {table} SET created_at = $1, updated_at = $1", opened)  # noqa: S608


async def number(conn: Any, plans: list[OrderPlan], invoice_prefix: str) -> dict[str, int]:
    """Ids and order numbers in the order of placement (from the sequences, as the checkout takes them);
    invoice numbers gap-free per year in the order of confirmation (orders/invoicing.py). Returns each
    invoice series' last value."""
    ids = await reserve_ids(conn, "orders", len(plans))
    values = await conn.fetch("SELECT nextval('order_number_seq') FROM generate_series(1, $1)", len(plans))
    for plan, order_id, value in zip(plans, ids, values, strict=True):
        plan.id = order_id
        plan.number = f"ORD-{plan.placed_at.year}-{int(value[0]):06d}"
    counters: dict[str, int] = defaultdict(int)
    invoiced = sorted((p for p in plans if p.story.confirmed_at), key=lambda p: (p.story.confirmed_at, p.id))
    for plan in invoiced:
        assert plan.story.confirmed_at is not None
        series = str(plan.story.confirmed_at.year)
        counters[series] += 1
        plan.invoice_number = f"{invoice_prefix}-{series}-{counters[series]:06d}"
    return dict(counters)


@dataclass
class OrderRows:
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    payments: list[tuple[Any, ...]] = field(default_factory=list)
    transactions: list[tuple[Any, ...]] = field(default_factory=list)
    redemptions: list[tuple[Any, ...]] = field(default_factory=list)
    refund_lines: list[tuple[Any, ...]] = field(default_factory=list)


def _order_row(plan: OrderPlan, currency: str, prices_include_tax: bool) -> tuple[Any, ...]:
    story, totals, customer = plan.story, plan.totals, plan.customer
    email, phone, note = plan.contact_email, plan.contact_phone, plan.note
    shipping = plan.shipping.as_dict()
    if customer is not None and customer.erase:  # orders/repository.py ``erase_contact``
        email, phone, note, shipping = f"erased-{customer.id}@erased.invalid", None, None, {"erased": True}
    coupon = plan.coupon
    return (
        plan.id,
        plan.number,
        customer.id if customer is not None else None,
        plan.contact_name,
        email,
        phone,
        story.status,
        story.payment_status,
        plan.method,
        story.stock_state,
        currency,
        totals.subtotal_minor,
        totals.discount_minor,
        totals.shipping_minor,
        totals.tax_minor,
        totals.total_minor,
        prices_include_tax,
        coupon.id if coupon is not None else None,
        coupon.code if coupon is not None else None,
        plan.shipping_method.id,
        plan.shipping_method.name,
        as_json(shipping),
        as_json(plan.billing.as_dict()),
        note,
        story.carrier,
        story.tracking,
        story.expires_at,
        plan.client_address,
        plan.invoice_number,
        story.confirmed_at if plan.invoice_number else None,
        plan.placed_at,
        story.events[-1].at,
    )


@dataclass(frozen=True)
class ChunkIds:
    """Ids reserved for a chunk's lines, payments and ledger rows, handed out in order."""

    lines: Iterator[int]
    payments: Iterator[int]
    transactions: Iterator[int]

    @classmethod
    async def reserve(cls, conn: Any, plans: list[OrderPlan]) -> ChunkIds:
        async def ids(table: str, count: int) -> Iterator[int]:
            return iter(await reserve_ids(conn, table, count))

        return cls(
            await ids("order_lines", sum(len(p.lines) for p in plans)),
            await ids("payments", sum(len(p.story.payments) for p in plans)),
            await ids("payment_transactions", sum(len(p.story.transactions) for p in plans)),
        )


def order_rows(plans: list[OrderPlan], ids: ChunkIds, currency: str, include_tax: bool) -> OrderRows:
    rows = OrderRows()
    for plan in plans:
        story = plan.story
        rows.orders.append(_order_row(plan, currency, include_tax))
        line_ids = [next(ids.lines) for _ in plan.lines]
        for line_id, line, figures in zip(line_ids, plan.lines, plan.totals.lines, strict=True):
            v = line.variant
            rows.lines.append(
                (
                    line_id,
                    plan.id,
                    v.product_id,
                    v.id,
                    v.pool_id,
                    v.product_name,
                    v.name,
                    v.sku,
                    v.options,
                    line.quantity,
                    line.quantity * v.draw,
                    v.price_minor,
                    figures.subtotal_minor,
                    figures.discount_minor,
                    figures.tax_minor,
                    figures.total_minor,
                    plan.tax_rate_ppm,
                )
            )
        for e in story.events:
            data = as_json(e.data)
            rows.events.append((plan.id, e.kind, e.from_status, e.to_status, e.note, data, e.actor, e.at))
        payment_ids = [next(ids.payments) for _ in story.payments]
        for payment_id, p in zip(payment_ids, story.payments, strict=True):
            rows.payments.append(
                (
                    payment_id,
                    plan.id,
                    p.gateway,
                    p.reference,
                    p.state,
                    p.amount,
                    currency,
                    p.client_secret,
                    p.card_brand,
                    p.card_last4,
                    p.error,
                    "{}",
                    None,
                    p.created_at,
                    p.updated_at or p.created_at,
                )
            )
        for t in story.transactions:
            tx_id = next(ids.transactions)
            reference = t.reference.replace("{number}", plan.number) if t.reference else None
            rows.transactions.append(
                (
                    tx_id,
                    plan.id,
                    payment_ids[t.payment] if t.payment is not None else None,
                    t.kind,
                    t.status,
                    t.amount,
                    currency,
                    t.gateway,
                    reference,
                    as_json(t.raw),
                    t.error,
                    t.reason,
                    t.key.replace("{id}", str(plan.id)),
                    t.actor,
                    t.at,
                )
            )
            rows.refund_lines += [
                (tx_id, plan.id, line_ids[line] if line is not None else None, units, amount, t.at)
                for line, units, amount in t.refund_rows
            ]
        if plan.coupon is not None and not story.coupon_released:
            digest = hashlib.sha256(plan.contact_email.lower().encode()).hexdigest()
            user_id = plan.customer.id if plan.customer is not None else None
            rows.redemptions.append(
                (plan.coupon.id, plan.id, user_id, digest, plan.totals.discount_minor, plan.placed_at)
            )
    return rows


async def write_orders(conn: Any, plans: list[OrderPlan], currency: str, include_tax: bool) -> dict[str, int]:
    """COPY every order's rows, a chunk of orders at a time; rows written per table. Refunds by line get
    their ``refund_lines`` where the schema has them (migration 0016)."""
    written: dict[str, int] = defaultdict(int)
    by_line = await conn.fetchval("SELECT to_regclass('refund_lines') IS NOT NULL")
    for start in range(0, len(plans), CHUNK):
        chunk = plans[start : start + CHUNK]
        rows = order_rows(chunk, await ChunkIds.reserve(conn, chunk), currency, include_tax)
        written["orders"] += await copy_rows(conn, "orders", ORDER_COLUMNS, rows.orders)
        written["order_lines"] += await copy_rows(conn, "order_lines", LINE_COLUMNS, rows.lines)
        written["order_events"] += await copy_rows(conn, "order_events", EVENT_COLUMNS, rows.events)
        written["payments"] += await copy_rows(conn, "payments", PAYMENT_COLUMNS, rows.payments)
        written["payment_transactions"] += await copy_rows(
            conn, "payment_transactions", TX_COLUMNS, rows.transactions
        )
        written["coupon_redemptions"] += await copy_rows(
            conn, "coupon_redemptions", REDEMPTION_COLUMNS, rows.redemptions
        )
        if by_line:
            written["refund_lines"] += await copy_rows(
                conn, "refund_lines", REFUND_LINE_COLUMNS, rows.refund_lines
            )
    return dict(written)


async def write_stock(conn: Any, plans: list[OrderPlan], shop: Shop, now: datetime) -> dict[str, int]:
    """What the orders did to stock, as inventory/reservations.py records it: pools hold the pending orders'
    reservations (their stock raised where the catalog had too little left), every deduction and restock is
    an adjustment whose ``on_hand_after`` runs from the pool's first stock to what it holds now, and
    products count the units sold."""
    reserved: dict[int, int] = defaultdict(int)
    sold: dict[int, int] = defaultdict(int)
    moves: dict[int, list[tuple[datetime, int, str, int | None]]] = defaultdict(list)
    for plan in plans:
        draws: dict[int, int] = defaultdict(int)
        for line in plan.lines:
            draws[line.variant.pool_id] += line.quantity * line.variant.draw
        if plan.story.stock_state == "reserved":
            for pool, draw in draws.items():
                reserved[pool] += draw
        if plan.story.stock_state == "deducted":
            for line in plan.lines:
                sold[line.variant.product_id] += line.quantity
        for move in plan.story.stock_moves:
            reason = ("sold: order " if move.sign < 0 else "cancelled: order ") + plan.number
            for pool, draw in draws.items():
                moves[pool].append((move.at, move.sign * draw, reason, move.actor))
    product_of = {v.pool_id: v.product_id for v in shop.variants}
    pools: list[tuple[Any, ...]] = []
    adjustments: list[tuple[Any, ...]] = []
    for pool, on_hand in shop.on_hand.items():
        final = max(on_hand, reserved.get(pool, 0))
        if final != on_hand or pool in reserved:
            pools.append((pool, final, reserved.get(pool, 0)))
        history = sorted(moves.get(pool, ()), key=lambda m: m[0])
        if not history:
            continue
        level = final - sum(m[1] for m in history)
        # A pool sold out now may have been sold to the last unit and then given some back: it had more
        # at first, and a stock count wrote the difference off after its last move.
        lowest = min(itertools.accumulate((m[1] for m in history), initial=level))
        if lowest < 0:
            level -= lowest
            last = history[-1][0]
            history.append((min(now, last + timedelta(days=1)), lowest, "Stock count correction", None))
        adjustments.append(
            (pool, level, level, "Initial stock", None, product_created_at(product_of[pool], now))
        )
        for at, delta, reason, actor in history:
            level += delta
            adjustments.append((pool, delta, level, reason, actor, at))
    await _update_from(conn, "stock_pools", pools, ("on_hand", "reserved"))
    await _update_from(conn, "products", list(sold.items()), ("sold_count",))
    written = await copy_rows(conn, "stock_adjustments", ADJUSTMENT_COLUMNS, adjustments)
    return {"stock_adjustments": written, "stock_pools updated": len(pools), "products sold": len(sold)}


async def _update_from(conn: Any, table: str, rows: list[tuple[Any, ...]], columns: tuple[str, ...]) -> None:
    """Set ``columns`` of many rows by id in one statement, through a temporary table filled by COPY."""
    scratch = f"seed_{table}"
    typed = ", ".join(f"{c} bigint" for c in columns)
    await conn.execute(f"CREATE TEMP TABLE {scratch} (id bigint PRIMARY KEY, {typed}) ON COMMIT DROP")
    await conn.copy_records_to_table(scratch, records=rows, columns=["id", *columns])
    assignments = ", ".join(f"{c} = s.{c}" for c in columns)
    await conn.execute(f"UPDATE {table} t SET {assignments} FROM {scratch} s WHERE t.id = s.id")  # noqa: S608


def audit_changes(changes: dict[str, list[Any]]) -> str:
    """As audit/service.py writes them."""
    return json.dumps(changes, sort_keys=True)
