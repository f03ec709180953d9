"""The audit log: written in the change's transaction, read at /admin/audit with filters, pages and CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest

from emporium.audit.schemas import Actor, AuditedObject, AuditFilters
from emporium.audit.service import audit, diff
from emporium.core.context import AppContext
from emporium.core.errors import ValidationFailed
from tests.admin.conftest import StaffClientFactory

ROW = re.compile(r"<tr>\s*<td><time")


async def _record(
    ctx: AppContext, count: int, *, action: str = "order.shipped", email: str = "a@staff.test"
) -> None:
    async with ctx.db.session() as session:
        for n in range(count):
            audit.record(
                session,
                Actor(user_id=1, email=email, ip_address="203.0.113.9"),
                action,
                AuditedObject("order", 1000 + n, f"EMP-{1000 + n}"),
                {"status": ("paid", "shipped"), "tracking_number": (None, f"1Z{n}")},
            )


async def _failed_change(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        audit.record(session, Actor(1, "a@staff.test"), "order.shipped", AuditedObject("order", 1))
        await session.flush()
        raise RuntimeError("the change failed")


async def test_an_entry_is_lost_with_its_transaction(ctx: AppContext) -> None:
    with pytest.raises(RuntimeError):
        await _failed_change(ctx)
    async with ctx.db.session() as session:
        assert (await audit.page(session, AuditFilters(), None, 10)).rows == []


async def test_the_log_shows_who_changed_what_from_what_to_what(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    await _record(ctx, 1)
    admin = await staff_client("admin")
    page = await admin.get("/admin/audit")
    assert page.status_code == 200
    text = page.text
    assert "a@staff.test" in text
    assert "order.shipped" in text
    assert "EMP-1000" in text
    assert "status</span>: paid → shipped" in text
    assert "tracking_number</span>: — → 1Z0" in text
    assert "203.0.113.9" in text


async def test_filters_pages_and_the_export_agree(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    await _record(ctx, 60)
    await _record(ctx, 3, action="customer.deactivated", email="b@staff.test")
    admin = await staff_client("admin")
    first = await admin.get("/admin/audit", params={"action": "order"})
    assert len(ROW.findall(first.text)) == 50
    assert "customer.deactivated" not in first.text
    link = re.search(r'href="(/admin/audit\?[^"]*after=[^"]+)" rel="next"', first.text)
    assert link is not None
    second = await admin.get(link.group(1).replace("&amp;", "&"))
    assert len(ROW.findall(second.text)) == 10
    assert 'rel="next"' not in second.text
    # Keyset pages neither repeat nor skip a row.
    labels = re.findall(r"order EMP-(\d+)", first.text + second.text)
    assert sorted(map(int, labels)) == list(range(1000, 1060))

    exported = await admin.get("/admin/audit", params={"staff": "B@staff.test", "format": "csv"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    shown = await admin.get("/admin/audit", params={"staff": "b@staff.test"})
    assert len(rows) == len(ROW.findall(shown.text)) == 3
    assert {row["action"] for row in rows} == {"customer.deactivated"}
    assert all(
        row["changes"] == "status: paid → shipped; tracking_number: None → 1Z" + row["object_id"][-1]
        for row in rows
    )


async def test_a_spreadsheet_formula_is_exported_as_text(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        audit.record(
            session, Actor(1, "a@staff.test"), "product.renamed", AuditedObject("product", 7, "=HYPERLINK(1)")
        )
    admin = await staff_client("admin")
    exported = await admin.get("/admin/audit", params={"format": "csv"})
    assert "'=HYPERLINK(1)" in exported.text


@pytest.mark.parametrize(
    "params",
    [
        {"action": "order\x00"},
        {"from": "2026-02-30"},
        {"from": "yesterday"},
        {"after": "not a cursor!"},
        {"after": "bm9wZQ"},
        {"staff": "x" * 400},
        {"format": "xlsx"},
    ],
)
async def test_hostile_filters_get_a_message(
    staff_client: StaffClientFactory, params: dict[str, str]
) -> None:
    admin = await staff_client("admin")
    response = await admin.get("/admin/audit", params=params)
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]
    assert "Some details need another look" in response.text


def test_diff_keeps_only_what_changed() -> None:
    assert diff({"a": 1, "b": "x"}, {"a": 1, "b": "y", "c": None}) == {"b": ("x", "y")}


def test_a_cursor_is_checked() -> None:
    from emporium.core.keyset import decode_cursor, encode_cursor

    assert decode_cursor(encode_cursor("2026-12-07", 5)) is not None
    with pytest.raises(ValidationFailed):
        decode_cursor(encode_cursor(None, 5)[:-3] + "!!!")
