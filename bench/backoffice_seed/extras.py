"""Carts (customers' kept carts, guests' emptied ones, and those left with items in them) and the audit log
of the staff's changes since it was switched on."""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backoffice_seed.common import StaffMember, copy_rows, reserve_ids
from backoffice_seed.people import Customer
from backoffice_seed.planner import OrderPlan
from backoffice_seed.rows import audit_changes
from backoffice_seed.shop import Shop
from backoffice_seed.stories import INVOICE

CART_COLUMNS = ("id", "user_id", "token_hash", "coupon_code", "expires_at", "created_at", "updated_at")
ITEM_COLUMNS = ("cart_id", "variant_id", "quantity", "price_seen_minor", "created_at", "updated_at")
AUDIT_COLUMNS = (
    "created_at",
    "actor_user_id",
    "actor_email",
    "ip_address",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "changes",
)


@dataclass
class CartPlan:
    user_id: int | None
    created_at: datetime
    updated_at: datetime
    coupon_code: str | None = None
    items: list[tuple[int, int, int]] = field(default_factory=list)  # variant, quantity, price seen


@dataclass(frozen=True)
class CartLifetimes:
    guest: timedelta
    customer: timedelta


def _minutes(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))


class Carts:
    """Carts as the cart domain leaves them: a customer's cart is kept and emptied by each order, a guest's
    is emptied by its order and expires a week after its last change; none is past its expiry (the cleanup
    job would have removed it)."""

    def __init__(self, rng: random.Random, now: datetime, shop: Shop, lifetimes: CartLifetimes) -> None:
        self.rng, self.now, self.shop, self.lifetimes = rng, now, shop, lifetimes
        self.carts: list[CartPlan] = []

    def _fill(self, cart: CartPlan) -> None:
        rng = self.rng
        count = rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
        cart.items = [(v.id, rng.choice((1, 1, 1, 2)), v.price_minor) for v in self.shop.pick(rng, count)]
        if rng.random() < 0.05:
            valid = [c.code for c in self.shop.coupons if c.valid_at(self.now)]
            cart.coupon_code = rng.choice(valid) if valid else None

    def from_orders(self, plans: list[OrderPlan]) -> None:
        """The emptied carts of recent orders: one per customer who ordered within the customer lifetime,
        one per guest order within the guest lifetime."""
        rng, now = self.rng, self.now
        kept: dict[int, CartPlan] = {}
        for plan in plans:
            customer = plan.customer
            if (
                customer is not None
                and plan.placed_at >= now - self.lifetimes.customer
                and not customer.erase
            ):
                cart = kept.get(customer.id)
                if cart is None:
                    opened = max(customer.created_at, plan.placed_at - _minutes(rng, 2, 60))
                    cart = kept[customer.id] = CartPlan(customer.id, opened, plan.placed_at)
                cart.updated_at = plan.placed_at
            elif customer is None and plan.placed_at >= now - self.lifetimes.guest:
                self.carts.append(CartPlan(None, plan.placed_at - _minutes(rng, 2, 60), plan.placed_at))
        self.carts.extend(kept.values())

    def left(self, customers: list[Customer], guests: int, by_customers: int, active: int) -> None:
        """Carts still holding items: abandoned by guests and customers, and a few being filled right now."""
        rng, now = self.rng, self.now
        for _ in range(guests):
            opened = now - self.lifetimes.guest * rng.random()
            self._add_filled(None, opened, min(now, opened + _minutes(rng, 0, 40)))
        have_cart = {c.user_id for c in self.carts if c.user_id is not None}
        free = [c for c in customers if c.id not in have_cart and c.is_active and not c.erase]
        for customer in rng.sample(free, min(by_customers, len(free))):
            opened = max(customer.created_at, now - self.lifetimes.customer * rng.random())
            self._add_filled(customer.id, opened, min(now, opened + _minutes(rng, 0, 40)))
        for _ in range(active):
            changed = now - _minutes(rng, 0, 50)
            self._add_filled(None, changed - _minutes(rng, 0, 30), changed)

    def _add_filled(self, user_id: int | None, opened: datetime, changed: datetime) -> None:
        cart = CartPlan(user_id, opened, changed)
        self._fill(cart)
        self.carts.append(cart)

    async def write(self, conn: Any) -> dict[str, int]:
        ids = await reserve_ids(conn, "carts", len(self.carts))
        carts, items = [], []
        for cart_id, cart in zip(ids, self.carts, strict=True):
            lifetime = self.lifetimes.customer if cart.user_id is not None else self.lifetimes.guest
            token = None if cart.user_id is not None else hashlib.sha256(secrets.token_bytes(24)).hexdigest()
            carts.append(
                (
                    cart_id,
                    cart.user_id,
                    token,
                    cart.coupon_code,
                    cart.updated_at + lifetime,
                    cart.created_at,
                    cart.updated_at,
                )
            )
            items += [(cart_id, v, q, p, cart.created_at, cart.updated_at) for v, q, p in cart.items]
        return {
            "carts": await copy_rows(conn, "carts", CART_COLUMNS, carts),
            "cart_items": await copy_rows(conn, "cart_items", ITEM_COLUMNS, items),
        }


async def write_audit(
    conn: Any,
    rng: random.Random,
    now: datetime,
    since: datetime,
    plans: list[OrderPlan],
    customers: list[Customer],
    admins: list[StaffMember],
) -> int:
    """The audit log since ``since`` (when it was switched on): every staff change to an order in that
    time, customers' details corrected or accounts deactivated by staff, and a coupon withdrawn."""
    rows: list[tuple[Any, ...]] = []

    def entry(
        at: datetime, staff: StaffMember, action: str, kind: str, oid: int, label: str, changes: Any
    ) -> None:
        rows.append(
            (
                at,
                staff.id,
                staff.email,
                staff.ip_address,
                action,
                kind,
                str(oid),
                label,
                audit_changes(changes) if changes else None,
            )
        )

    for plan in plans:
        for act in plan.story.staff_actions:
            if act.at >= since:
                filled = {
                    name: [plan.invoice_number if value == INVOICE else value for value in pair]
                    for name, pair in act.changes.items()
                }
                entry(act.at, act.staff, act.action, "order", plan.id, plan.number, filled)
    window = (now - since).total_seconds()
    for customer in customers:
        if customer.erase:
            continue
        if not customer.is_active:  # deactivated some time after signing up; logged if since ``since``
            at = customer.created_at + (now - customer.created_at) * rng.random()
            if at >= since:
                changes: dict[str, list[Any]] = {"is_active": [True, False]}
                admin = rng.choice(admins)
                entry(at, admin, "customer.deactivated", "user", customer.id, customer.email, changes)
        elif rng.random() < 0.005:  # a customer asked for their data (accounts/customers.py ``export``)
            at = now - timedelta(seconds=window * rng.random())
            if at >= customer.created_at:
                entry(at, rng.choice(admins), "customer.exported", "user", customer.id, customer.email, {})
    withdrawn = await conn.fetchrow("SELECT id, code FROM coupons WHERE NOT is_active ORDER BY id LIMIT 1")
    if withdrawn is not None:
        at = max(since, now - timedelta(days=3))
        await conn.execute("UPDATE coupons SET updated_at = $1 WHERE id = $2", at, withdrawn["id"])
        changes = {"is_active": [True, False]}
        entry(at, admins[0], "coupon.updated", "coupon", withdrawn["id"], withdrawn["code"], changes)
    rows.sort(key=lambda row: row[0])
    return await copy_rows(conn, "audit_entries", AUDIT_COLUMNS, rows)
