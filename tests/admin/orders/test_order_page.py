"""The order page: what it shows, the actions the state machine allows (each through the services the API
uses, audited), e-mails captured by the SMTP test server, internal notes, PDFs, and a stale form."""

from __future__ import annotations

import io
import re

import httpx
from pypdf import PdfReader
from sqlalchemy import select

from emporium.audit.models import AuditEntry
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClientFactory
from tests.admin.orders.conftest import order_row, two_line_order
from tests.conftest import Shopper
from tests.support import SmtpServer, data


async def _audit_actions(ctx: AppContext, order_id: int) -> list[str]:
    async with ctx.db.session() as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "order", AuditEntry.object_id == str(order_id))
            .order_by(AuditEntry.id)
        )
        return list(rows)


def _flash_follows(response: httpx.Response, order_id: int) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/admin/orders/{order_id}"


async def test_the_page_shows_the_order_its_money_timeline_and_documents(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, staff_client: StaffClientFactory
) -> None:
    order = await two_line_order(client, ctx, shopper)
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    admin = await staff_client("admin")
    page = await admin.get(f"/admin/orders/{order['id']}")
    assert page.status_code == 200, page.text
    text = page.text
    assert order["number"] in text
    assert f'href="/admin/customers/{order["customer_id"]}"' in text
    assert "1 Navy Yard" in text
    assert "United States" in text
    assert "59.00 USD" in text  # the total
    assert "Order placed" in text
    assert "Pending → Confirmed" in text
    assert "E-mail to the customer" in text
    assert "sent" in text
    # The ledger: the capture, and everything still refundable.
    assert re.search(r"<td>Capture</td><td>succeeded</td>\s*<td class=\"num\">59.00 USD</td>", text)
    assert 'class="admin-orders-refundable">59.00 USD' in text
    assert 'action="/admin/orders/{}/refund"'.format(order["id"]) in text
    assert 'value="processing"' in text
    assert 'value="cancelled"' in text
    assert 'value="delivered"' not in text  # not from confirmed

    invoice = await admin.get(f"/admin/orders/{order['id']}/invoice.pdf")
    assert invoice.status_code == 200
    assert invoice.content.startswith(b"%PDF")
    slip = await admin.get(f"/admin/orders/{order['id']}/packing-slip.pdf")
    assert slip.status_code == 200
    assert slip.headers["content-type"] == "application/pdf"
    assert slip.content.startswith(b"%PDF")
    printed = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(slip.content)).pages)
    assert "Packing slip" in printed
    assert order["number"] in printed
    assert "1 Navy Yard" in printed
    for line in order["lines"]:
        assert line["sku"] in printed
    assert "3 items in all" in printed
    assert "USD" not in printed  # the slip travels in the parcel: no prices


async def test_unknown_and_hostile_order_ids(staff_client: StaffClientFactory) -> None:
    support = await staff_client("support")
    assert (await support.get("/admin/orders/999999")).status_code == 404
    assert (await support.get("/admin/orders/0")).status_code == 422
    assert (await support.get("/admin/orders/99999999999999999999999")).status_code == 422
    assert (await support.get("/admin/orders/abc")).status_code == 422


async def test_ship_with_tracking_e_mails_the_customer(
    client: httpx.AsyncClient,
    ctx: AppContext,
    shopper: Shopper,
    staff_client: StaffClientFactory,
    smtp: SmtpServer,
) -> None:
    order = await two_line_order(client, ctx, shopper)
    support = await staff_client("support")
    url = f"/admin/orders/{order['id']}"
    moved = await support.post(
        f"{url}/move", data={"csrf_token": support.csrf, "target": "processing", "seen_status": "confirmed"}
    )
    _flash_follows(moved, order["id"])
    assert "marked as processing" in (await support.get(url)).text
    shipped = await support.post(
        f"{url}/ship",
        data={
            "csrf_token": support.csrf,
            "carrier": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "seen_status": "processing",
        },
    )
    _flash_follows(shipped, order["id"])
    row = await order_row(ctx, order["id"])
    assert (row.status, row.carrier, row.tracking_number) == ("shipped", "UPS", "1Z999AA10123456784")
    await ctx.jobs.run_until_idle()
    mail = next(m for m in smtp.sink.to(shopper.email) if "is shipped" in m.subject)
    assert "UPS" in mail.text
    assert "1Z999AA10123456784" in mail.text
    assert await _audit_actions(ctx, order["id"]) == ["order.processing", "order.shipped"]
    page = await support.get(url)
    assert "tracking_number</span>: — → 1Z999AA10123456784" in page.text
    assert "status</span>: processing → shipped" in page.text
    assert "Shipment recorded" in page.text

    resent = await support.post(f"{url}/resend-email", data={"csrf_token": support.csrf})
    _flash_follows(resent, order["id"])
    await ctx.jobs.run_until_idle()
    shipped_mails = [m for m in smtp.sink.to(shopper.email) if "is shipped" in m.subject]
    assert len(shipped_mails) == 2
    assert shipped_mails[0].message["Message-ID"] != shipped_mails[1].message["Message-ID"]
    assert (await _audit_actions(ctx, order["id"]))[-1] == "order.email_resent"


async def test_a_stale_form_gets_a_message_and_changes_nothing(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, staff_client: StaffClientFactory
) -> None:
    order = await two_line_order(client, ctx, shopper)
    url = f"/admin/orders/{order['id']}"
    first, second = await staff_client("support"), await staff_client("support")
    # Both open the page while the order is confirmed; the first ships it.
    assert "Mark as shipped" in (await second.get(url)).text
    shipped = await first.post(
        f"{url}/ship",
        data={
            "csrf_token": first.csrf,
            "carrier": "DHL",
            "tracking_number": "JD014600",
            "seen_status": "confirmed",
        },
    )
    assert shipped.status_code == 303
    # A second later the other sends the form they still have: a cancellation, then a shipment.
    late = await second.post(
        f"{url}/move", data={"csrf_token": second.csrf, "target": "cancelled", "seen_status": "confirmed"}
    )
    assert late.status_code == 409
    assert "changed while you were looking at it: it was confirmed and is now shipped" in late.text
    assert "Nothing was done" in late.text
    again = await second.post(
        f"{url}/ship",
        data={
            "csrf_token": second.csrf,
            "carrier": "UPS",
            "tracking_number": "1Z0",
            "seen_status": "confirmed",
        },
    )
    assert again.status_code == 409
    # Drawn for the right status, but the state machine refuses: a message too, not a 500.
    illegal = await second.post(
        f"{url}/move", data={"csrf_token": second.csrf, "target": "processing", "seen_status": "shipped"}
    )
    assert illegal.status_code == 409
    assert f"Order {order['number']} is shipped: it cannot be marked as processing now." in illegal.text
    row = await order_row(ctx, order["id"])
    assert (row.status, row.carrier, row.tracking_number) == ("shipped", "DHL", "JD014600")
    assert await _audit_actions(ctx, order["id"]) == ["order.shipped"]


async def test_internal_notes_stay_with_staff(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, staff_client: StaffClientFactory
) -> None:
    order = await two_line_order(client, ctx, shopper)
    support = await staff_client("support")
    url = f"/admin/orders/{order['id']}"
    noted = await support.post(
        f"{url}/notes", data={"csrf_token": support.csrf, "text": "Customer called: leave at the back door"}
    )
    _flash_follows(noted, order["id"])
    page = await support.get(url)
    assert "Customer called: leave at the back door" in page.text
    assert "staff only" in page.text
    seen_by_customer = data(await client.get(f"/api/v1/orders/{order['id']}", headers=shopper.headers))
    assert all(event["kind"] != "internal_note" for event in seen_by_customer["timeline"])
    assert "back door" not in str(seen_by_customer)
    staff_api = await client.get(
        f"/api/v1/admin/orders/{order['id']}", headers={"Authorization": shopper.headers["Authorization"]}
    )
    assert staff_api.status_code == 403
    assert await _audit_actions(ctx, order["id"]) == ["order.note_added"]
