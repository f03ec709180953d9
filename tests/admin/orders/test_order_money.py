"""Money on the order page: refunds by line and shipping (computed on the server, capped by what is left),
who may refund, confirming cash on delivery and recording a bank transfer, and hostile forms."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from emporium.accounts.service import auth
from emporium.app import create_app
from emporium.audit.models import AuditEntry
from emporium.core.context import AppContext
from emporium.payments.models import PaymentTransaction, RefundLine
from tests.admin.conftest import StaffClient, StaffClientFactory, open_client, sign_in
from tests.admin.orders.conftest import order_row, two_line_order
from tests.conftest import MakeContext, Shopper, sign_up
from tests.support import STRONG_PASSWORD, asgi_client, data

KEY = "refund-form-key-0001"


async def _lines(client: httpx.AsyncClient, shopper: Shopper, order_id: int) -> dict[str, int]:
    order = data(await client.get(f"/api/v1/orders/{order_id}", headers=shopper.headers))
    return {line["product_name"].split()[0]: line["id"] for line in order["lines"]}


def _refund_form(
    staff: StaffClient, lines: dict[str, int], *, mugs: int = 0, teapots: int = 0, **extra: Any
) -> Any:
    return {
        "csrf_token": staff.csrf,
        "key": KEY,
        "line_id": [lines["Mug"], lines["Teapot"]],
        "quantity": [mugs, teapots],
        **extra,
    }


async def _refunds(ctx: AppContext, order_id: int) -> list[int]:
    async with ctx.db.session() as session:
        rows = await session.scalars(
            select(PaymentTransaction.amount_minor)
            .where(PaymentTransaction.order_id == order_id, PaymentTransaction.kind == "refund")
            .order_by(PaymentTransaction.id)
        )
        return list(rows)


async def _audit_count(ctx: AppContext, order_id: int) -> int:
    async with ctx.db.session() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.object_id == str(order_id))
            )
            or 0
        )


async def test_refund_one_line_then_the_rest_with_shipping(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, staff_client: StaffClientFactory
) -> None:
    order = await two_line_order(client, ctx, shopper)
    lines = await _lines(client, shopper, order["id"])
    admin = await staff_client("admin")
    url = f"/admin/orders/{order['id']}"

    one_mug = await admin.post(f"{url}/refund", data=_refund_form(admin, lines, mugs=1, reason="chipped"))
    assert one_mug.status_code == 303, one_mug.text
    # The same form sent twice is one refund.
    twice = await admin.post(f"{url}/refund", data=_refund_form(admin, lines, mugs=1, reason="chipped"))
    assert twice.status_code == 303
    assert await _refunds(ctx, order["id"]) == [1200]
    page = await admin.get(url)
    assert "Refunded 12.00 USD" in page.text
    assert 'class="admin-orders-refundable">47.00 USD' in page.text
    assert "<td>Refund</td><td>succeeded</td>" in page.text
    assert 'max="1"' in page.text  # one mug left to refund
    row = await order_row(ctx, order["id"])
    assert row.payment_status == "partially_refunded"

    # More mugs than are left: refused with the reason, nothing refunded.
    too_many = await admin.post(
        f"{url}/refund", data=_refund_form(admin, lines, mugs=2, key="refund-form-key-0002")
    )
    assert too_many.status_code == 422
    assert "At most 1 of that line can still be refunded." in too_many.text
    # Shipping beyond what was charged: refused too.
    too_much = await admin.post(
        f"{url}/refund", data=_refund_form(admin, lines, shipping="5.01", key="refund-form-key-0003")
    )
    assert too_much.status_code == 422
    assert "At most 5.00 USD of the shipping can still be refunded." in too_much.text
    assert await _refunds(ctx, order["id"]) == [1200]

    rest = await admin.post(
        f"{url}/refund",
        data=_refund_form(admin, lines, mugs=1, teapots=1, shipping="5.00", key="refund-form-key-0004"),
    )
    assert rest.status_code == 303, rest.text
    assert await _refunds(ctx, order["id"]) == [1200, 4700]
    row = await order_row(ctx, order["id"])
    assert row.payment_status == "refunded"
    page = await admin.get(url)
    assert 'class="admin-orders-refundable">0.00 USD' in page.text
    assert f'action="/admin/orders/{order["id"]}/refund"' not in page.text  # nothing left to refund
    async with ctx.db.session() as session:
        kept = (
            await session.execute(
                select(RefundLine.order_line_id, RefundLine.quantity, RefundLine.amount_minor)
                .where(RefundLine.order_id == order["id"])
                .order_by(RefundLine.id)
            )
        ).all()
    assert [tuple(r) for r in kept] == [
        (lines["Mug"], 1, 1200),
        (lines["Mug"], 1, 1200),
        (lines["Teapot"], 1, 3000),
        (None, 0, 500),
    ]
    async with ctx.db.session() as session:
        refunded = (
            await session.scalars(
                select(AuditEntry.changes).where(
                    AuditEntry.object_id == str(order["id"]), AuditEntry.action == "order.refunded"
                )
            )
        ).all()
    assert len(refunded) == 2
    first = json.loads(refunded[0] or "{}")
    assert first["refund"] == [None, "12.00 USD"]
    assert first["reason"] == [None, "chipped"]
    assert first["payment_status"] == ["paid", "partially_refunded"]


async def test_support_sees_no_refund_button_and_a_forged_refund_is_refused(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, staff_client: StaffClientFactory
) -> None:
    order = await two_line_order(client, ctx, shopper)
    lines = await _lines(client, shopper, order["id"])
    support = await staff_client("support")
    url = f"/admin/orders/{order['id']}"
    page = await support.get(url)
    assert page.status_code == 200
    assert "/refund" not in page.text
    assert ">Refund<" not in page.text
    forged = await support.post(f"{url}/refund", data=_refund_form(support, lines, mugs=2, teapots=1))
    assert forged.status_code == 403
    assert await _refunds(ctx, order["id"]) == []
    assert await _audit_count(ctx, order["id"]) == 0


async def test_cash_on_delivery_is_confirmed_by_payments_staff_only(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, staff_client: StaffClientFactory
) -> None:
    order = await two_line_order(client, ctx, shopper, payment_method="cash_on_delivery")
    url = f"/admin/orders/{order['id']}"
    support, admin = await staff_client("support"), await staff_client("admin")
    assert "Confirm (cash on delivery)" not in (await support.get(url)).text
    form = {"target": "confirmed", "seen_status": "pending"}
    assert (await support.post(f"{url}/move", data={"csrf_token": support.csrf, **form})).status_code == 403
    assert (await order_row(ctx, order["id"])).status == "pending"
    assert "Confirm (cash on delivery)" in (await admin.get(url)).text
    confirmed = await admin.post(f"{url}/move", data={"csrf_token": admin.csrf, **form})
    assert confirmed.status_code == 303
    row = await order_row(ctx, order["id"])
    assert (row.status, row.stock_state) == ("confirmed", "deducted")
    assert row.invoice_number is not None


async def _signed_in(ctx: AppContext, role: str, email: str) -> StaffClient:
    async with ctx.db.session() as session:
        await auth.create_user(session, ctx, email=email, password=STRONG_PASSWORD, role=role)
    staff = await open_client(ctx)
    assert (await sign_in(staff, email)).status_code == 303
    return staff


async def test_a_bank_transfer_is_recorded_for_the_exact_total(make_context: MakeContext) -> None:
    ctx = make_context(payment_methods=["test", "bank_transfer", "cash_on_delivery"])
    async with asgi_client(create_app(ctx=ctx)) as client:
        shopper = await sign_up(client, "payer@example.com")
        order = await two_line_order(client, ctx, shopper, payment_method="bank_transfer")
    url = f"/admin/orders/{order['id']}"
    admin = await _signed_in(ctx, "admin", "transfers@staff.test")
    support = await _signed_in(ctx, "support", "helpdesk@staff.test")
    try:
        assert "Record the bank transfer" in (await admin.get(url)).text
        assert "Record the bank transfer" not in (await support.get(url)).text
        short = await admin.post(
            f"{url}/transfer",
            data={
                "csrf_token": admin.csrf,
                "amount": "50.00",
                "reference": "BANK-1",
                "seen_status": "pending",
            },
        )
        assert short.status_code == 422
        assert "must match the order total" in short.text
        assert (await order_row(ctx, order["id"])).payment_status == "pending_verification"
        forged = await support.post(
            f"{url}/transfer",
            data={
                "csrf_token": support.csrf,
                "amount": "59.00",
                "reference": "BANK-2",
                "seen_status": "pending",
            },
        )
        assert forged.status_code == 403
        paid = await admin.post(
            f"{url}/transfer",
            data={
                "csrf_token": admin.csrf,
                "amount": "59.00",
                "reference": "BANK-1",
                "seen_status": "pending",
            },
        )
        assert paid.status_code == 303, paid.text
        row = await order_row(ctx, order["id"])
        assert (row.status, row.payment_status) == ("confirmed", "paid")
        assert await _audit_count(ctx, order["id"]) == 1
    finally:
        await admin.aclose()
        await support.aclose()


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("refund", {"key": "short"}),
        ("refund", {"quantity": ["-1", "0"]}),
        ("refund", {"quantity": ["1"]}),
        ("refund", {"quantity": ["x", "0"]}),
        ("refund", {"line_id": ["999998", "999999"]}),
        ("refund", {"line_id": ["99999999999999999999", "1"]}),
        ("refund", {"shipping": "-5"}),
        ("refund", {"shipping": "5.001"}),
        ("refund", {"shipping": "1e9"}),
        ("refund", {"reason": "r" * 1001}),
        ("refund", {"reason": "bad\x00"}),
        ("refund", {"quantity": ["0", "0"]}),
        ("move", {"target": "refunded", "seen_status": "confirmed"}),
        ("move", {"target": "processing", "seen_status": "lost"}),
        ("move", {"target": "processing", "seen_status": "confirmed", "note": "x" * 1001}),
        ("ship", {"carrier": "", "tracking_number": "1Z", "seen_status": "confirmed"}),
        ("ship", {"carrier": "UPS", "tracking_number": "t" * 101, "seen_status": "confirmed"}),
        ("ship", {"carrier": "UPS\x00", "tracking_number": "1Z", "seen_status": "confirmed"}),
        ("ship", {"carrier": "4242 4242 4242 4242", "tracking_number": "1Z", "seen_status": "confirmed"}),
        ("notes", {"text": ""}),
        ("notes", {"text": "x" * 1001}),
        ("notes", {"text": "nul\x00"}),
        ("transfer", {"amount": "abc", "reference": "R", "seen_status": "confirmed"}),
    ],
)
async def test_hostile_forms_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    ctx: AppContext,
    shopper: Shopper,
    staff_client: StaffClientFactory,
    action: str,
    fields: dict[str, Any],
) -> None:
    order = await two_line_order(client, ctx, shopper)
    lines = await _lines(client, shopper, order["id"])
    admin = await staff_client("admin")
    form: dict[str, Any] = {"csrf_token": admin.csrf}
    if action == "refund":
        form.update(key=KEY, line_id=[lines["Mug"], lines["Teapot"]], quantity=["1", "0"])
    form.update(fields)
    before = await order_row(ctx, order["id"])
    response = await admin.post(f"/admin/orders/{order['id']}/{action}", data=form)
    assert 400 <= response.status_code < 500, response.text
    assert response.status_code != 404
    assert "text/html" in response.headers["content-type"]
    after = await order_row(ctx, order["id"])
    assert (after.status, after.payment_status, after.carrier) == (before.status, before.payment_status, None)
    assert await _refunds(ctx, order["id"]) == []
    assert await _audit_count(ctx, order["id"]) == 0


async def test_a_post_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, staff_client: StaffClientFactory
) -> None:
    order = await two_line_order(client, ctx, shopper)
    admin = await staff_client("admin")
    response = await admin.post(
        f"/admin/orders/{order['id']}/move", data={"target": "processing", "seen_status": "confirmed"}
    )
    assert response.status_code == 403
    assert (await order_row(ctx, order["id"])).status == "confirmed"
