"""What an order's ledger adds up to, and the payment status that follows from it."""

from __future__ import annotations

from dataclasses import dataclass

from emporium.orders.models import PaymentStatus
from emporium.payments.models import TxKind, TxStatus


@dataclass(frozen=True)
class Balance:
    authorized_minor: int = 0
    captured_minor: int = 0
    refunded_minor: int = 0
    # Refunds sent to a gateway and not yet settled count against what may still be refunded.
    refunding_minor: int = 0
    failed_attempts: int = 0

    @property
    def refundable_minor(self) -> int:
        return self.captured_minor - self.refunded_minor - self.refunding_minor


def balance_of(sums: list[tuple[str, str, int, int]]) -> Balance:
    """``sums``: (kind, status, total amount, count) per kind and status of one order's transactions."""
    total: dict[tuple[str, str], int] = {}
    failed = 0
    for kind, status, amount, count in sums:
        total[(kind, status)] = int(amount)
        if status == TxStatus.FAILED and kind in (TxKind.CAPTURE, TxKind.AUTHORIZE):
            failed += int(count)
    return Balance(
        authorized_minor=total.get((TxKind.AUTHORIZE, TxStatus.SUCCEEDED), 0)
        - total.get((TxKind.VOID, TxStatus.SUCCEEDED), 0),
        captured_minor=total.get((TxKind.CAPTURE, TxStatus.SUCCEEDED), 0),
        refunded_minor=total.get((TxKind.REFUND, TxStatus.SUCCEEDED), 0),
        refunding_minor=total.get((TxKind.REFUND, TxStatus.PENDING), 0),
        failed_attempts=failed,
    )


def amount_due(balance: Balance, total_minor: int) -> int:
    """What is still to pay of an order's total (0 once it is covered)."""
    return max(total_minor - balance.captured_minor, 0)


def payment_status(balance: Balance, *, total_minor: int, waiting_for_transfer: bool) -> PaymentStatus:
    if balance.captured_minor > 0:
        if balance.refunded_minor >= balance.captured_minor:
            return PaymentStatus.REFUNDED
        # A second capture given back (a duplicate payment) leaves the order paid in full.
        if balance.refunded_minor > 0 and balance.captured_minor - balance.refunded_minor < total_minor:
            return PaymentStatus.PARTIALLY_REFUNDED
        # Part of the total is not the total: the order still waits for the rest.
        if amount_due(balance, total_minor) > 0:
            return PaymentStatus.AWAITING
        return PaymentStatus.PAID
    if balance.authorized_minor > 0:
        return PaymentStatus.AUTHORIZED
    if waiting_for_transfer:
        return PaymentStatus.PENDING_VERIFICATION
    if balance.failed_attempts:
        return PaymentStatus.FAILED
    return PaymentStatus.AWAITING
