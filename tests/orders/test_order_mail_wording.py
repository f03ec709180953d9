"""Order e-mails as a guest reads them (received by the test SMTP server): no "because of your account" for
someone who has none, the payment method and the status by their names, and a variant line that does not
repeat its product's name."""

from __future__ import annotations

import httpx
import pytest

from emporium.core.context import AppContext
from tests.inventory.factory import make_product
from tests.orders.factory import make_cart, make_shipping, order_body
from tests.support import SmtpServer, data


async def _guest_order(client: httpx.AsyncClient, ctx: AppContext, payment_method: str) -> dict[str, object]:
    async with ctx.db.session() as session:
        made = await make_product(session, "Kalakand", prices=("12.00",))
        made.variants[0].name = "Kalakand 1 kg"  # as the demo names a box of a sweet
        method = await make_shipping(session)
        token = await make_cart(session, [(made.variants[0], 2)])
    body = order_body(method.id, payment_method=payment_method)
    placed: dict[str, object] = data(
        await client.post("/api/v1/orders", json=body, headers={"X-Cart-Token": token}), 201
    )
    return placed


@pytest.mark.parametrize(
    ("code", "name"), [("test", "Card (test mode)"), ("cash_on_delivery", "Cash on delivery")]
)
async def test_a_guest_confirmation_speaks_to_a_guest_in_names(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer, code: str, name: str
) -> None:
    smtp.sink.clear()
    order = await _guest_order(client, ctx, code)
    await ctx.jobs.run_until_idle()
    [mail] = smtp.sink.to("grace@example.com")
    assert str(order["number"]) in mail.subject
    for part in (mail.text, mail.html):
        assert f"Payment: {name}" in part
        assert f"Payment: {code}" not in part
        assert "_" not in part.split("Payment:", 1)[1].splitlines()[0]
        assert "Kalakand · 1 kg" in part
        assert "Kalakand (Kalakand 1 kg)" not in part
        assert "Kalakand · Kalakand" not in part
    assert "because of your account" not in mail.html
    assert f"because order {order['number']} was placed at" in mail.html


async def test_a_status_mail_names_the_status(
    client: httpx.AsyncClient, ctx: AppContext, smtp: SmtpServer, staff: dict[str, str]
) -> None:
    order = await _guest_order(client, ctx, "cash_on_delivery")
    for status in ("confirmed", "processing", "shipped"):
        moved = await client.put(
            f"/api/v1/admin/orders/{order['id']}", json={"status": status}, headers=staff
        )
        assert moved.status_code == 200, moved.text
    smtp.sink.clear()
    await ctx.jobs.run_until_idle()
    subjects = [m.subject for m in smtp.sink.to("grace@example.com")]
    assert f"Order {order['number']} is shipped" in subjects, subjects
    shipped = next(m for m in smtp.sink.to("grace@example.com") if m.subject.endswith("is shipped"))
    assert "because of your account" not in shipped.html
    assert "is now shipped" in shipped.text
