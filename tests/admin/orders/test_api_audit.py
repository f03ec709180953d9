"""The API's staff moves and money go through the same services as the back office and leave the same
audit entries, so the order page's audit list holds changes made either way."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from emporium.audit.models import AuditEntry
from emporium.core.context import AppContext
from tests.admin.orders.conftest import two_line_order
from tests.conftest import Shopper
from tests.inventory.factory import staff_headers
from tests.support import data


async def _entries(ctx: AppContext, order_id: int) -> list[tuple[str, str | None, dict[str, list[object]]]]:
    async with ctx.db.session() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.actor_email, AuditEntry.changes)
            .where(AuditEntry.object_type == "order", AuditEntry.object_id == str(order_id))
            .order_by(AuditEntry.id)
        )
        return [(action, email, json.loads(changes or "{}")) for action, email, changes in rows.all()]


async def test_api_moves_and_refunds_are_audited(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    order = await two_line_order(client, ctx, shopper)
    staff = await staff_headers(client, ctx, email="api-staff@staff.test", role="admin")
    url = f"/api/v1/admin/orders/{order['id']}"
    data(
        await client.put(
            url, json={"status": "shipped", "carrier": "UPS", "tracking_number": "1Z9"}, headers=staff
        )
    )
    refund_headers = {**staff, "Idempotency-Key": "api-refund-0001"}
    body = {"order_id": order["id"], "amount": "10.00", "reason": "late"}
    data(await client.post("/api/v1/payments/refund", json=body, headers=refund_headers), 201)
    # A replay of the same refund returns it and is not audited again.
    data(await client.post("/api/v1/payments/refund", json=body, headers=refund_headers), 201)
    entries = await _entries(ctx, order["id"])
    assert [(action, email) for action, email, _ in entries] == [
        ("order.shipped", "api-staff@staff.test"),
        ("order.refunded", "api-staff@staff.test"),
    ]
    assert entries[0][2]["status"] == ["confirmed", "shipped"]
    assert entries[0][2]["tracking_number"] == [None, "1Z9"]
    assert entries[1][2]["refund"] == [None, "10.00 USD"]
    assert entries[1][2]["payment_status"] == ["paid", "partially_refunded"]
