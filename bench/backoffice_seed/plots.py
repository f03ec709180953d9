"""The courses an order's life takes, and how often: paid online at once or after a declined card, never
paid and expired, cash on delivery confirmed by staff, a bank transfer recorded by staff; then processed,
shipped and delivered, or cancelled (and refunded when paid), returned and refunded in full or in part,
or given a goodwill refund. The shares are set so a year of orders looks like a shop's."""

from __future__ import annotations

import string
from datetime import timedelta
from typing import Any

from backoffice_seed.stories import (
    CAPTURED,
    CARD_GATEWAYS,
    CARRIERS,
    COD,
    NOTES,
    RefundRow,
    Story,
    _hours,
    _token,
)

# The settings' defaults: order_payment_timeout_minutes and offline_order_timeout_hours.
PAYMENT_TIMEOUT = timedelta(minutes=30)
OFFLINE_TIMEOUT = timedelta(hours=48)
AUTO_REFUND_REASON = "The order was cancelled; the payment is returned automatically."
CUSTOMER_REASONS = ("Ordered the wrong size.", "Found it cheaper elsewhere.", "No longer needed.", None)
STAFF_REASONS = ("Out of stock at the supplier.", "Cancelled at the customer's request.", "Suspected fraud.")


def tell(story: Story) -> None:
    """The order's life from its placement until now (or until its next step, which has not come yet)."""
    story.event("placed", story.buyer_id, to_status="pending")
    if story.method in CARD_GATEWAYS:
        story.expires_at = story.at + PAYMENT_TIMEOUT
        going_on = _paid_online(story)
    else:
        story.expires_at = story.at + OFFLINE_TIMEOUT
        if story.method == COD:
            going_on = _confirmed_by_staff(story)
        else:
            story.payment_status = "pending_verification"  # payments/tasks.py ``prepare_placed``
            going_on = _transfer_recorded(story)
    if going_on:
        _fulfil(story)


def _expire(story: Story, note: str) -> bool:
    """orders/tasks.py ``expire_unpaid``: the job cancels the order a little after its deadline."""
    assert story.expires_at is not None
    if story.reach(story.expires_at - story.at + timedelta(seconds=story.rng.uniform(5, 60))):
        story.move("cancelled", None, note=note, kind="expired")
    return False


def _cancelled_pending(story: Story) -> bool:
    if not story.reach(_hours(story.rng, 0.1, 20)):
        return False
    if story.buyer_id is not None:
        story.move("cancelled", story.buyer_id, note=story.rng.choice(CUSTOMER_REASONS))
    else:  # a guest asks the shop
        story.staff_move("cancelled", story.operator(), note="Cancelled at the customer's request.")
    return False


def _paid_online(story: Story) -> bool:
    rng = story.rng
    attempt = story.start_payment()
    roll = rng.random()
    if roll < 0.025:  # the shopper never finished paying
        return _expire(story, "Payment not received in time.")
    if roll < 0.055:  # declined, then paid with another card (or not)
        if not story.reach(timedelta(seconds=rng.uniform(30, 180))):
            return False
        story.card_outcome(attempt, succeeded=False)
        if rng.random() < 0.3:
            return _expire(story, "Payment not received in time.")
        if not story.reach(timedelta(minutes=rng.uniform(1, 10))):
            return False
        attempt = story.start_payment()
    if not story.reach(timedelta(seconds=rng.uniform(20, 240))):
        return False
    story.card_outcome(attempt, succeeded=True)
    return True


def _confirmed_by_staff(story: Story) -> bool:
    roll = story.rng.random()
    if roll < 0.04:
        return _cancelled_pending(story)
    if roll < 0.06:
        return _expire(story, "Not confirmed in time.")
    if not story.reach(_hours(story.rng, 0.3, 20)):
        return False
    story.staff_move("confirmed", story.operator())
    return True


def _transfer_recorded(story: Story) -> bool:
    """payments/gateways/offline/recording.py ``record_bank_transfer``, by staff who may verify payments."""
    rng = story.rng
    roll = rng.random()
    if roll < 0.05:
        return _cancelled_pending(story)
    if roll < 0.17:
        return _expire(story, "Not confirmed in time.")
    if not story.reach(_hours(rng, 3, 40)):
        return False
    staff, before = story.admin(), {"status": story.status, "payment_status": story.payment_status}
    reference = f"TRF{rng.randint(10**9, 10**10 - 1)}"
    story.record(
        None,
        "capture",
        amount=story.total,
        key=f"transfer:{reference}",
        reference=reference,
        raw={"bank_reference": reference},
        actor=staff.id,
    )
    story.refresh_payment_status()
    story.confirm_payment(staff.id)
    # payments/back_office.py ``record_bank_transfer``'s audit entry
    changes: dict[str, list[Any]] = {"transfer": [None, f"{story.money(story.total)} ref {reference}"]}
    changes.update({k: [v, getattr(story, k)] for k, v in before.items() if getattr(story, k) != v})
    story.act(staff, "order.transfer_recorded", changes)
    return True


def _note(story: Story) -> bool:
    if not story.reach(_hours(story.rng, 0.5, 10)):
        return False
    staff, note = story.operator(), story.rng.choice(NOTES)
    story.event("internal_note", staff.id, note=note)
    story.act(staff, "order.note_added", {"note": [None, note]})
    return True


def _fulfil(story: Story) -> None:
    rng = story.rng
    if rng.random() < 0.03 and not _note(story):
        return
    if rng.random() < 0.03:
        _cancel_confirmed(story)
        return
    if rng.random() < 0.65:
        if not story.reach(_hours(rng, 1, 20)):
            return
        story.staff_move("processing", story.operator())
    if not _ship(story) or not story.reach(_hours(rng, 24, 168)):
        return
    story.staff_move("delivered", story.operator())
    roll = rng.random()
    if roll < 0.025:
        _returned(story)
    elif roll < 0.045 and story.shipping_minor > 0 and story.reach(_hours(rng, 48, 360)):
        # A goodwill refund of the shipping (the back office refunds lines and shipping, not sums).
        rows = ((None, 0, story.shipping_minor),)
        reason = "Goodwill gesture: late delivery."
        story.refund(story.shipping_minor, story.admin(), reason, _refund_key(story), rows)


def _ship(story: Story) -> bool:
    rng = story.rng
    if not story.reach(_hours(rng, 4, 72)):
        return False
    staff = story.operator()
    if story.pickup:  # collected at the shop: no parcel to track
        story.staff_move("shipped", staff)
        return True
    # orders/staff_moves.py ``ship``: the carrier and tracking number, then the move, audited together.
    before = story.snapshot()
    story.carrier = rng.choice(CARRIERS.get(story.country, ("DHL Express",)))
    story.tracking = "1Z" + _token(rng, 16, string.ascii_uppercase + string.digits)
    story.event("shipment", staff.id, data={"carrier": story.carrier, "tracking_number": story.tracking})
    story.move("shipped", staff.id)
    story.act(staff, "order.shipped", story.changed(before))
    return True


def _cancel_confirmed(story: Story) -> None:
    rng = story.rng
    if not story.reach(_hours(rng, 0.2, 30)):
        return
    if story.buyer_id is not None and rng.random() < 0.5:
        story.move("cancelled", story.buyer_id, note=rng.choice(CUSTOMER_REASONS))
    else:
        story.staff_move("cancelled", story.operator(), note=rng.choice(STAFF_REASONS))
    # payments/tasks.py ``refund_unwanted``: the job gives a captured payment back in full.
    if story.payment_status in CAPTURED and story.reach(timedelta(minutes=rng.uniform(1, 10))):
        key = f"refund:auto-{{id}}-{story.captured}"
        story.refund(story.captured - story.refunded, None, AUTO_REFUND_REASON, key)


def _returned(story: Story) -> None:
    rng = story.rng
    if not story.reach(_hours(rng, 72, 480)):
        return
    story.staff_move("returned", story.operator(), note="Returned by the customer.")
    if not story.reach(_hours(rng, 24, 120)):
        return
    lines = story.lines
    if rng.random() < 0.6:  # all of it back, and the shipping
        rows: list[RefundRow] = [(i, line.quantity, line.total_minor) for i, line in enumerate(lines)]
        if story.shipping_minor:
            rows.append((None, 0, story.shipping_minor))
    else:  # some units of one line (payments/back_office.py ``LineRefundable.share``)
        index = rng.randrange(len(lines))
        units = rng.randint(1, lines[index].quantity)
        rows = [(index, units, lines[index].total_minor * units // lines[index].quantity)]
    amount = sum(part for _, _, part in rows)
    if 0 < amount <= story.captured - story.refunded:
        story.refund(amount, story.admin(), "Goods returned.", _refund_key(story), tuple(rows))


def _refund_key(story: Story) -> str:
    return "refund:" + _token(story.rng, 32, "0123456789abcdef")
