"""What happened to one order, step by step, as the shop's own code would have recorded it: the lifecycle
(orders/lifecycle.py), the payments service's ledger and status rules (payments/service.py, ledger.py), the
expiry job and the staff moves. Each step happens only if its moment is already past; the order is left in
the state the last past step gave it, so recent orders are caught half-way (pending, paid, in processing).

Order ids and numbers are not known yet when a story is told: keys and references that hold them are
written with ``{id}`` and ``{number}`` and filled in when the rows are made.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backoffice_seed.common import StaffMember
from emporium.core.money import from_minor

CARD_GATEWAYS = ("stripe", "paypal")
COD, TRANSFER = "cash_on_delivery", "bank_transfer"
# Stands for the order's invoice number in audit entries until the numbers are given out.
INVOICE = "{invoice}"
CAPTURED = frozenset({"paid", "authorized", "partially_refunded"})
DECLINES = ("Your card was declined.", "Your card has insufficient funds.", "Your card has expired.")
CARRIERS = {
    "US": ("UPS", "USPS", "FedEx"),
    "GB": ("Royal Mail", "DPD"),
    "DE": ("DHL",),
    "FR": ("Colissimo",),
    "IN": ("Delhivery", "Blue Dart"),
}
NOTES = (
    "Customer asked for gift wrapping.",
    "Called the customer to confirm the address.",
    "Parcel held at the depot, customer informed.",
    "Customer asked to change the delivery day.",
)


@dataclass
class PaymentPlan:
    gateway: str
    reference: str
    client_secret: str | None
    amount: int
    created_at: datetime
    state: str = "requires_action"
    card_brand: str | None = None
    card_last4: str | None = None
    error: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class SoldLine:
    sku: str
    quantity: int
    total_minor: int


# What a refund by line gave back: (index of the order's line, or None for shipping; units; amount).
RefundRow = tuple[int | None, int, int]


@dataclass(frozen=True)
class TxPlan:
    payment: int | None  # index into the story's payments
    kind: str
    status: str
    amount: int
    gateway: str
    reference: str | None
    raw: dict[str, Any]
    key: str
    at: datetime
    actor: int | None = None
    error: str | None = None
    reason: str | None = None
    refund_rows: tuple[RefundRow, ...] = ()


@dataclass(frozen=True)
class EventPlan:
    at: datetime
    kind: str
    actor: int | None
    from_status: str | None = None
    to_status: str | None = None
    note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StaffAction:
    """One staff request that changed the order: what the audit log would hold for it."""

    at: datetime
    staff: StaffMember
    action: str
    changes: dict[str, list[Any]]


@dataclass(frozen=True)
class StockMove:
    at: datetime
    sign: int  # -1: the reservation deducted (sold); +1: deducted stock put back (cancelled)
    actor: int | None


def _token(rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choices(alphabet, k=length))


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(hours=rng.uniform(low, high))


class Story:
    def __init__(
        self,
        rng: random.Random,
        now: datetime,
        placed_at: datetime,
        *,
        method: str,
        total: int,
        lines: list[SoldLine],
        shipping_minor: int,
        currency: str,
        buyer_id: int | None,
        country: str,
        pickup: bool,
        operators: list[StaffMember],
        admins: list[StaffMember],
    ) -> None:
        self.rng, self.now, self.at = rng, now, placed_at
        self.method, self.total, self.lines, self.buyer_id = method, total, lines, buyer_id
        self.shipping_minor, self.currency = shipping_minor, currency
        self.country, self.pickup = country, pickup
        self._operators, self._admins = operators, admins
        self.status, self.payment_status, self.stock_state = "pending", "awaiting", "reserved"
        self.expires_at: datetime | None = None
        self.confirmed_at: datetime | None = None
        self.carrier: str | None = None
        self.tracking: str | None = None
        self.coupon_released = False
        self.events: list[EventPlan] = []
        self.payments: list[PaymentPlan] = []
        self.transactions: list[TxPlan] = []
        self.stock_moves: list[StockMove] = []
        self.staff_actions: list[StaffAction] = []
        self.captured = self.refunded = self.failed = 0

    # The clock

    def reach(self, delay: timedelta) -> bool:
        """Move the story on by ``delay``; False (and nothing moves) when that moment has not come yet."""
        if self.at + delay > self.now:
            return False
        self.at += delay
        return True

    def operator(self) -> StaffMember:
        return self.rng.choice(self._operators)

    def admin(self) -> StaffMember:
        return self.rng.choice(self._admins)

    # What the shop's code records

    def event(self, kind: str, actor: int | None, **values: Any) -> None:
        self.events.append(EventPlan(self.at, kind, actor, **values))

    def act(self, staff: StaffMember, action: str, changes: dict[str, list[Any]]) -> None:
        self.staff_actions.append(StaffAction(self.at, staff, action, changes))

    def money(self, minor: int) -> str:
        """As the back office writes amounts into the audit log: "12.34 USD"."""
        return f"{from_minor(minor, self.currency):f} {self.currency}"

    def snapshot(self) -> dict[str, Any]:
        """orders/staff_moves.py ``snapshot``; the invoice number is filled in when the rows are made."""
        return {
            "status": self.status,
            "payment_status": self.payment_status,
            "stock_state": self.stock_state,
            "carrier": self.carrier,
            "tracking_number": self.tracking,
            "invoice_number": INVOICE if self.confirmed_at is not None else None,
        }

    def changed(self, before: dict[str, Any], **extra: Any) -> dict[str, list[Any]]:
        """audit/service.py ``diff`` of a snapshot, plus values that were not there before."""
        after = self.snapshot()
        changes = {
            name: [before.get(name), value] for name, value in after.items() if before.get(name) != value
        }
        changes.update({name: [None, value] for name, value in extra.items() if value is not None})
        return changes

    def staff_move(self, target: str, staff: StaffMember, *, note: str | None = None) -> None:
        """orders/staff_moves.py ``StaffMoves.move``: the lifecycle's move, audited."""
        before = self.snapshot()
        self.move(target, staff.id, note=note)
        self.act(staff, f"order.{target}", self.changed(before, note=note))

    def refresh_payment_status(self) -> None:
        """payments/ledger.py ``payment_status`` over what the ledger now holds."""
        if self.captured > 0:
            if self.refunded >= self.captured:
                self.payment_status = "refunded"
            elif self.refunded > 0 and self.captured - self.refunded < self.total:
                self.payment_status = "partially_refunded"
            else:
                self.payment_status = "awaiting" if self.captured < self.total else "paid"
        elif self.method == TRANSFER and self.status != "cancelled":
            self.payment_status = "pending_verification"
        elif self.failed:
            self.payment_status = "failed"
        else:
            self.payment_status = "awaiting"

    def move(self, target: str, actor: int | None, *, note: str | None = None, kind: str = "status") -> None:
        """orders/lifecycle.py ``Lifecycle.move``: stock, coupon, the event, the invoice, the refund due."""
        current = self.status
        if target == "confirmed" and self.stock_state == "reserved":
            self.stock_moves.append(StockMove(self.at, -1, actor))
            self.stock_state = "deducted"
        elif target == "cancelled":
            if self.stock_state == "reserved":
                self.stock_state = "released"
            elif self.stock_state == "deducted":
                self.stock_moves.append(StockMove(self.at, 1, actor))
                self.stock_state = "restocked"
            self.coupon_released = self.payment_status not in CAPTURED
        self.status, self.expires_at = target, None
        if target == "delivered" and self.method == COD:
            # payments/tasks.py ``record_delivery``: the cash is taken with the parcel.
            self.record(
                None, "capture", amount=self.total, key="cash-on-delivery", reference="{number}", actor=actor
            )
            self.refresh_payment_status()
        self.event(kind, actor, from_status=current, to_status=target, note=note)
        if target == "confirmed" and self.confirmed_at is None:
            self.confirmed_at = self.at
        if target == "cancelled" and self.payment_status in CAPTURED:
            self.event("refund_due", actor, data={"total": self.total})

    def record(
        self,
        payment: int | None,
        kind: str,
        *,
        amount: int,
        key: str,
        reference: str | None,
        status: str = "succeeded",
        actor: int | None = None,
        raw: dict[str, Any] | None = None,
        error: str | None = None,
        reason: str | None = None,
    ) -> None:
        """payments/service.py ``PaymentService.record``: one ledger row."""
        gateway = self.payments[payment].gateway if payment is not None else self.method
        self.transactions.append(
            TxPlan(
                payment,
                kind,
                status,
                amount,
                gateway,
                reference,
                raw or {},
                key,
                self.at,
                actor,
                error,
                reason,
            )
        )
        if status == "succeeded":
            if kind == "capture":
                self.captured += amount
            elif kind == "refund":
                self.refunded += amount
        elif kind == "capture":
            self.failed += 1

    # Paying

    def start_payment(self) -> int:
        rng = self.rng
        if self.method == "stripe":
            reference = "pi_" + _token(rng, 24)
            payment = PaymentPlan(
                "stripe", reference, f"{reference}_secret_{_token(rng, 24)}", self.total, self.at
            )
        else:
            reference = _token(rng, 17, string.ascii_uppercase + string.digits)
            payment = PaymentPlan("paypal", reference, None, self.total, self.at)
        payment.updated_at = self.at
        self.payments.append(payment)
        return len(self.payments) - 1

    def card_outcome(self, index: int, succeeded: bool) -> None:
        payment, rng = self.payments[index], self.rng
        payment.updated_at = self.at
        if payment.gateway == "stripe":
            payment.card_brand = rng.choices(("visa", "mastercard", "amex"), weights=(60, 30, 10))[0]
            payment.card_last4 = f"{rng.randint(0, 9999):04d}"
        if not succeeded:
            payment.state, payment.error = "failed", rng.choice(DECLINES)
            self.record(
                index,
                "capture",
                amount=payment.amount,
                key=f"failed:{payment.gateway}:{payment.reference}",
                reference=payment.reference,
                status="failed",
                raw={"id": payment.reference, "status": "failed"},
                error=payment.error,
            )
            self.refresh_payment_status()
            self.event("payment_failed", None, note=payment.error)
            return
        payment.state = "succeeded"
        raw = {"id": payment.reference, "status": "succeeded" if payment.gateway == "stripe" else "COMPLETED"}
        key = f"capture:{payment.gateway}:{payment.reference}"
        self.record(index, "capture", amount=payment.amount, key=key, reference=payment.reference, raw=raw)
        self.refresh_payment_status()
        self.confirm_payment(None)

    def confirm_payment(self, actor: int | None) -> None:
        """orders/lifecycle.py ``confirm_payment`` of a pending order."""
        self.payment_status = "paid"
        self.event("payment", actor, data={"payment_status": "paid"})
        self.move("confirmed", actor)

    def refund(
        self, amount: int, staff: StaffMember | None, reason: str, key: str, rows: tuple[RefundRow, ...] = ()
    ) -> None:
        """payments/service.py ``refund`` and ``_refunded``; by staff, payments/back_office.py
        ``refund_lines`` (units of lines and the shipping, each a refund line) and its audit entry."""
        actor = staff.id if staff is not None else None
        card = next((i for i, p in enumerate(self.payments) if p.state == "succeeded"), None)
        if card is not None:
            gateway = self.payments[card].gateway
            reference = ("re_" + _token(self.rng, 24)) if gateway == "stripe" else _token(self.rng, 17)
            raw: dict[str, Any] = {"id": reference, "status": "succeeded"}
        else:  # cash or a transfer, given back by hand
            reference, raw = None, {}
        before = {"status": self.status, "payment_status": self.payment_status}
        self.record(
            card, "refund", amount=amount, key=key, actor=actor, reference=reference, raw=raw, reason=reason
        )
        self.transactions[-1] = TxPlan(**{**vars(self.transactions[-1]), "refund_rows": rows})
        self.refresh_payment_status()
        self.event("refund", actor, note=reason, data={"amount": amount})
        if self.status in ("cancelled", "returned", "partially_refunded"):
            target = "refunded" if self.payment_status == "refunded" else "partially_refunded"
            if target != self.status:
                self.move(target, actor, note=reason)
        if staff is not None:
            what = ", ".join(
                f"{self.lines[line].sku} x{units}" if line is not None else "shipping"
                for line, units, _ in rows
            )
            changes: dict[str, list[Any]] = {
                "refund": [None, self.money(amount)],
                "refunded_items": [None, what],
            }
            after = {"status": self.status, "payment_status": self.payment_status}
            changes.update({k: [before[k], v] for k, v in after.items() if before[k] != v})
            changes["reason"] = [None, reason]
            self.act(staff, "order.refunded", changes)
