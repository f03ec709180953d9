"""Bulk moves from the order table (mark as processing, ship from a file) and saved filters per member."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from emporium.audit.models import AuditEntry
from emporium.core.context import AppContext
from emporium.orders.models import Order
from emporium.orders.shipments_csv import MAX_FILE_BYTES, MAX_ROWS, parse_shipments
from tests.admin.conftest import StaffClient, StaffClientFactory
from tests.admin.orders.conftest import goods, make_order
from tests.support import SmtpServer


async def _status(ctx: AppContext, *orders: Order) -> list[tuple[str, str | None]]:
    async with ctx.db.session() as session:
        rows = await session.execute(
            select(Order.status, Order.tracking_number)
            .where(Order.id.in_([o.id for o in orders]))
            .order_by(Order.id)
        )
        return [(status, tracking) for status, tracking in rows.all()]


async def _audits(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def _shippable(ctx: AppContext, count: int, **fields: Any) -> list[Order]:
    async with ctx.db.session() as session:
        made = await goods(session)
        return [
            await make_order(
                session, made, status="confirmed", payment_status="paid", stock_state="deducted", **fields
            )
            for _ in range(count)
        ]


async def _flash(client: StaffClient, location: str) -> str:
    return (await client.get(location)).text


async def test_bulk_processing_moves_what_it_can_and_names_the_rest(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    ready = await _shippable(ctx, 2)
    async with ctx.db.session() as session:
        waiting = await make_order(session, await goods(session), status="pending")
    support = await staff_client("support")
    response = await support.post(
        "/admin/orders/bulk/process",
        data={
            "csrf_token": support.csrf,
            "order_id": [ready[0].id, waiting.id, ready[1].id, 999999],
            "query": "status=confirmed",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/orders?status=confirmed"
    page = await _flash(support, response.headers["location"])
    assert f"2 marked as processing: {ready[0].number}, {ready[1].number}." in page
    assert f"{waiting.number} (it is pending)" in page
    assert "#999999 (no such order)" in page
    assert await _status(ctx, *ready, waiting) == [
        ("processing", None),
        ("processing", None),
        ("pending", None),
    ]
    assert await _audits(ctx) == 2


async def test_bulk_processing_needs_orders_update(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    ready = await _shippable(ctx, 1)
    moderator = await staff_client("moderator")  # reads orders, moves none
    page = await moderator.get("/admin/orders")
    assert "Mark ticked orders as processing" not in page.text
    assert 'name="order_id"' not in page.text
    response = await moderator.post(
        "/admin/orders/bulk/process", data={"csrf_token": moderator.csrf, "order_id": [ready[0].id]}
    )
    assert response.status_code == 403
    assert await _status(ctx, *ready) == [("confirmed", None)]


@pytest.mark.parametrize(
    "ids", [[], ["abc"], ["0"], ["99999999999999999999"], [str(n) for n in range(1, 203)]]
)
async def test_bulk_processing_refuses_hostile_ids(staff_client: StaffClientFactory, ids: list[str]) -> None:
    support = await staff_client("support")
    response = await support.post(
        "/admin/orders/bulk/process", data={"csrf_token": support.csrf, "order_id": ids}
    )
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]


def _upload(client: StaffClient, content: bytes, name: str = "parcels.csv") -> dict[str, Any]:
    return {"data": {"csrf_token": client.csrf}, "files": {"file": (name, content, "text/csv")}}


async def test_a_shipping_file_ships_every_order_and_e_mails_each_customer(
    ctx: AppContext, staff_client: StaffClientFactory, smtp: SmtpServer
) -> None:
    orders = await _shippable(ctx, 3)
    support = await staff_client("support")
    content = (
        "\ufefforder_number;carrier;tracking_number\r\n"
        f"{orders[0].number};UPS;1Z0001\r\n"
        f"{orders[1].number.lower()};DHL;JD0002\r\n"
        "\r\n"
        f'{orders[2].number};"La Poste; Colissimo";6A0003\r\n'
    ).encode()
    response = await support.post("/admin/orders/bulk-ship", **_upload(support, content))
    assert response.status_code == 303, response.text
    page = await _flash(support, response.headers["location"])
    assert f"Shipped 3 orders: {orders[0].number}, {orders[1].number}, {orders[2].number}." in page
    assert await _status(ctx, *orders) == [
        ("shipped", "1Z0001"),
        ("shipped", "JD0002"),
        ("shipped", "6A0003"),
    ]
    assert await _audits(ctx) == 3
    await ctx.jobs.run_until_idle()
    mail = next(m for m in smtp.sink.to(orders[2].contact_email) if "is shipped" in m.subject)
    assert "La Poste; Colissimo" in mail.text
    assert "6A0003" in mail.text


async def test_a_file_with_bad_rows_ships_nothing_and_names_each_line(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    orders = await _shippable(ctx, 2)
    async with ctx.db.session() as session:
        pending = await make_order(session, await goods(session), status="pending")
    support = await staff_client("support")
    content = "\n".join(
        [
            "order_number,carrier,tracking_number",
            f"{orders[0].number},UPS,1Z0001",  # fine
            f"{orders[1].number},UPS",  # line 3: a column missing
            f"{pending.number},UPS,1Z0003",  # line 4: not shippable yet
            "ORD-2026-999999,UPS,1Z0004",  # line 5: no such order
            f"{orders[0].number},DHL,JD0005",  # line 6: twice
            "<script>,UPS,1Z0006",  # line 7: not a number
            f"{orders[1].number},{'x' * 101},1Z0007",  # line 8: carrier too long
            f"{orders[1].number},UPS,4242424242424242",  # line 9: a card number
        ]
    ).encode()
    response = await support.post("/admin/orders/bulk-ship", **_upload(support, content))
    assert response.status_code == 422
    text = response.text
    assert "Nothing was shipped: 7 rows of parcels.csv need fixing." in text
    for line in (3, 4, 5, 6, 7, 8, 9):
        assert f'<td class="num">{line}</td>' in text, line
    assert "expected 3 columns" in text
    assert f"order {pending.number} is pending: it cannot be shipped" in text
    assert "there is no order ORD-2026-999999" in text
    assert f"order {orders[0].number} is already on line 2" in text
    assert "&lt;script&gt;" in text
    assert "<script>," not in text
    assert await _status(ctx, *orders, pending) == [
        ("confirmed", None),
        ("confirmed", None),
        ("pending", None),
    ]
    assert await _audits(ctx) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file has no rows"),
        (b"\n\n  \n", "The file has no rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8 text"),
        ("order,carrier,tracking\n".encode("utf-16"), "not UTF-8 text"),
        (b"a,b,c\x00\n", "not a CSV text file"),
        (b"x" * (MAX_FILE_BYTES + 1), "larger than 256 KB"),
        (("ORD-2026-000001,UPS,1Z\n" * (MAX_ROWS + 1)).encode(), f"more than {MAX_ROWS} rows"),
        (b'ORD-2026-000001,"UPS,1Z\n', "not valid CSV"),
    ],
)
async def test_a_malformed_file_is_refused_with_a_message(
    staff_client: StaffClientFactory, content: bytes, message: str
) -> None:
    support = await staff_client("support")
    response = await support.post("/admin/orders/bulk-ship", **_upload(support, content))
    assert response.status_code == 422, response.text
    assert message in response.text


async def test_the_shipping_upload_needs_a_file_and_orders_update(staff_client: StaffClientFactory) -> None:
    support = await staff_client("support")
    assert "Ship from a file" in (await support.get("/admin/orders/bulk-ship")).text
    missing = await support.post("/admin/orders/bulk-ship", data={"csrf_token": support.csrf})
    assert missing.status_code == 422
    assert "Choose the CSV file" in missing.text
    moderator = await staff_client("moderator")
    assert (await moderator.get("/admin/orders/bulk-ship")).status_code == 403
    forged = await moderator.post(
        "/admin/orders/bulk-ship", **_upload(moderator, b"ORD-2026-000001,UPS,1Z\n")
    )
    assert forged.status_code == 403


def test_the_parser_reads_what_spreadsheets_write() -> None:
    rows, errors = parse_shipments(b"Order number\tCarrier\tTracking number\nord-2026-000001\tUPS\t 1Z1 \n")
    assert errors == []
    assert [(r.line, r.number, r.carrier, r.tracking_number) for r in rows] == [
        (2, "ORD-2026-000001", "UPS", "1Z1")
    ]
    rows, errors = parse_shipments(b"ORD-2026-000001,UPS,1Z1,,\n")
    assert len(rows) == 1
    assert errors == []


async def test_saved_filters_belong_to_their_owner(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    mine, theirs = await staff_client("support"), await staff_client("support")
    saved = await mine.post(
        "/admin/orders/saved-filters",
        data={
            "csrf_token": mine.csrf,
            "name": "COD to ship",
            "query": "method=cash_on_delivery&status=confirmed&after=xyz",
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/admin/orders?status=confirmed&method=cash_on_delivery"
    page = await mine.get("/admin/orders")
    assert 'href="/admin/orders?status=confirmed&amp;method=cash_on_delivery">COD to ship</a>' in page.text
    assert "COD to ship" not in (await theirs.get("/admin/orders")).text
    # Saving under the same name replaces.
    await mine.post(
        "/admin/orders/saved-filters",
        data={"csrf_token": mine.csrf, "name": "COD to ship", "query": "q=grace"},
    )
    page = await mine.get("/admin/orders")
    assert page.text.count("COD to ship</a>") == 1
    assert 'href="/admin/orders?q=grace">COD to ship</a>' in page.text
    filter_id = int(page.text.split('action="/admin/orders/saved-filters/')[1].split("/")[0])
    # Another member cannot delete it (it is not found for them).
    stolen = await theirs.post(
        f"/admin/orders/saved-filters/{filter_id}/delete", data={"csrf_token": theirs.csrf}
    )
    assert stolen.status_code == 404
    deleted = await mine.post(
        f"/admin/orders/saved-filters/{filter_id}/delete", data={"csrf_token": mine.csrf}
    )
    assert deleted.status_code == 303
    assert "COD to ship</a>" not in (await mine.get("/admin/orders")).text
    async with ctx.db.session() as session:
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions == ["saved_filter.saved", "saved_filter.saved", "saved_filter.deleted"]


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "", "query": "q=x"},
        {"name": "   ", "query": "q=x"},
        {"name": "n" * 61, "query": "q=x"},
        {"name": "bad\x00name", "query": "q=x"},
        {"name": "ok", "query": "status=teleported"},
        {"name": "ok", "query": "from=2026-02-30"},
        {"name": "ok", "query": "q=" + "x" * 200},
        {"name": "ok", "query": "x" * 1001},
    ],
)
async def test_hostile_saved_filters_are_refused(
    staff_client: StaffClientFactory, fields: dict[str, str]
) -> None:
    support = await staff_client("support")
    response = await support.post("/admin/orders/saved-filters", data={"csrf_token": support.csrf, **fields})
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]
    assert "Saved filters" in (await support.get("/admin/orders")).text
    assert "ok</a>" not in (await support.get("/admin/orders")).text
