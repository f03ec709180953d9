"""The order table: search by number, e-mail, name or phone in any format; filters; keyset pages in every
sort; the CSV export equal to the table; a constant number of statements per page; hostile filters."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.orders.search import phone_candidates
from tests.admin.conftest import StaffClientFactory
from tests.admin.orders.conftest import goods, make_order, make_orders, next_link, numbers_in, table_rows
from tests.support import count_statements


async def _numbers(client: object, **params: str) -> list[str]:
    response = await client.get("/admin/orders", params=params)  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return numbers_in(response.text)


async def test_a_phone_typed_any_way_finds_the_order(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        made = await goods(session)
        us = await make_order(session, made, contact_phone="+12025550143", contact_name="Ada Byron")
        gb = await make_order(session, made, contact_phone="+442079460958", country="GB")
        # An order from before phones were stored in E.164 keeps the form it was typed in.
        legacy = await make_order(session, made, contact_phone="(202) 555-0188")
        await make_order(session, made, contact_phone="+12025550199")
    support = await staff_client("support")
    for typed in ("(202) 555-0143", "202.555.0143", "+1 202-555-0143", "0012025550143", "12025550143"):
        assert await _numbers(support, q=typed) == [us.number], typed
    assert await _numbers(support, q="020 7946 0958") == [gb.number]
    assert await _numbers(support, q="+44 20 7946 0958") == [gb.number]
    assert await _numbers(support, q="(202) 555-0188") == [legacy.number]
    assert await _numbers(support, q="555-0143") == []  # too short to be a whole number


def test_phone_candidates_are_e164() -> None:
    assert "+12025550143" in phone_candidates("(202) 555-0143")
    assert phone_candidates("+1 202 555 0143") == {"+12025550143"}
    assert phone_candidates("hello") == frozenset()
    assert phone_candidates("12 34") == frozenset()


async def test_search_by_number_email_and_name(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    async with ctx.db.session() as session:
        made = await goods(session)
        grace = await make_order(
            session, made, contact_name="Grace Hopper", contact_email="grace@navy.example"
        )
        other = await make_order(
            session, made, contact_name="Alan Turing", contact_email="alan@bletchley.example"
        )
    admin = await staff_client("admin")
    assert await _numbers(admin, q=grace.number.lower()) == [grace.number]
    assert await _numbers(admin, q=str(int(other.number[-6:]))) == [other.number]
    assert await _numbers(admin, q="GRACE@navy") == [grace.number]
    assert await _numbers(admin, q="hopper") == [grace.number]
    assert await _numbers(admin, q="turing") == [other.number]
    # LIKE wildcards are text.
    assert await _numbers(admin, q="%") == []
    assert await _numbers(admin, q="_") == []


async def test_filters(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    now = utcnow()
    async with ctx.db.session() as session:
        made = await goods(session)
        shipped = await make_order(session, made, status="shipped", payment_status="paid")
        cod = await make_order(session, made, payment_method="cash_on_delivery", status="confirmed")
        coupon = await make_order(session, made, coupon_code="SUMMER10")
        indian = await make_order(session, made, country="IN", currency="INR")
        old = await make_order(session, made, created_at=now - timedelta(days=40))
    admin = await staff_client("admin")
    assert await _numbers(admin, status="shipped") == [shipped.number]
    assert await _numbers(admin, payment="paid") == [shipped.number]
    assert await _numbers(admin, method="cash_on_delivery") == [cod.number]
    assert await _numbers(admin, coupon="summer10") == [coupon.number]
    assert await _numbers(admin, country="in") == [indian.number]
    day = (now - timedelta(days=40)).date()
    assert await _numbers(admin, **{"from": str(day - timedelta(days=1)), "to": str(day)}) == [old.number]
    recent = await _numbers(admin, **{"from": str((now - timedelta(days=1)).date())})
    assert old.number not in recent
    assert set(recent) == {shipped.number, cod.number, coupon.number, indian.number}
    # Filters combine.
    assert await _numbers(admin, status="confirmed", method="cash_on_delivery") == [cod.number]
    assert await _numbers(admin, status="shipped", method="cash_on_delivery") == []


@pytest.mark.parametrize(
    ("sort", "key"),
    [("newest", -1), ("oldest", 1), ("total_high", -1), ("total_low", 1)],
)
async def test_keyset_pages_cover_every_order_once_in_order(
    ctx: AppContext, staff_client: StaffClientFactory, sort: str, key: int
) -> None:
    made = await make_orders(ctx, 25)
    expected = [o.number for o in made][::key]
    support = await staff_client("support")
    seen: list[str] = []
    url: str | None = f"/admin/orders?sort={sort}&limit=10"
    pages = 0
    while url:
        response = await support.get(url)
        assert response.status_code == 200
        seen += numbers_in(response.text)
        url = next_link(response.text)
        pages += 1
    assert pages == 3
    assert seen == expected


async def test_the_csv_export_is_the_table(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    await make_orders(ctx, 12, contact_phone="+12025550143", coupon_code="=HACK")
    await make_orders(ctx, 3, status="cancelled")
    admin = await staff_client("admin")
    params = {"status": "pending", "sort": "total_high", "limit": "10"}
    table: list[list[str]] = []
    url: str | None = "/admin/orders?status=pending&sort=total_high&limit=10"
    while url:
        page = await admin.get(url)
        header_html = page.text
        table += table_rows(page.text)
        url = next_link(page.text)
    exported = await admin.get("/admin/orders", params={**params, "format": "csv"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    header, body = rows[0], rows[1:]
    assert len(body) == len(table) == 12
    # Cells a spreadsheet would run as formulas are written as text: a leading apostrophe.
    assert all(row[9] == "'=HACK" and row[4] == "'+12025550143" for row in body)
    unquoted = [[cell[1:] if cell.startswith("'") else cell for cell in row] for row in body]
    assert unquoted == table
    assert all(f">{name}" in header_html for name in header)


async def test_statements_per_page_do_not_grow_with_its_size(
    ctx: AppContext, engine: AsyncEngine, staff_client: StaffClientFactory
) -> None:
    await make_orders(ctx, 120)
    support = await staff_client("support")
    counts = []
    for limit in (10, 100):
        with count_statements(engine) as statements:
            response = await support.get("/admin/orders", params={"limit": str(limit), "q": "customer"})
        assert response.status_code == 200
        assert len(numbers_in(response.text)) == limit
        counts.append(len(statements))
        url = next_link(response.text)
        assert url
        with count_statements(engine) as statements:
            assert (await support.get(url)).status_code == 200
        counts.append(len(statements))
    assert len(set(counts)) == 1, counts
    assert counts[0] <= 6, counts


async def test_empty_states_say_what_to_do(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    support = await staff_client("support")
    nothing = await support.get("/admin/orders")
    assert "No orders yet" in nothing.text
    await make_orders(ctx, 1)
    none_match = await support.get("/admin/orders", params={"status": "delivered"})
    assert "No order matches these filters" in none_match.text
    assert 'href="/admin/orders">Clear the filters' in none_match.text


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 101},
        {"q": "order\x00"},
        {"status": "teleported"},
        {"payment": "free"},
        {"method": "DROP TABLE"},
        {"from": "2026-02-30"},
        {"from": "yesterday"},
        {"from": "2026-12-07", "to": "2026-12-01"},
        {"coupon": "<script>"},
        {"country": "USA"},
        {"sort": "random"},
        {"limit": "100000"},
        {"limit": "ten"},
        {"after": "not a cursor!"},
        {"after": "bm9wZQ"},
        {"format": "xlsx"},
    ],
)
async def test_hostile_filters_get_a_message(
    staff_client: StaffClientFactory, params: dict[str, str]
) -> None:
    support = await staff_client("support")
    response = await support.get("/admin/orders", params=params)
    assert response.status_code == 422, response.text
    assert "text/html" in response.headers["content-type"]
    assert "Some details need another look" in response.text


async def test_a_cursor_from_another_sort_is_refused(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    await make_orders(ctx, 12)
    support = await staff_client("support")
    first = await support.get("/admin/orders", params={"limit": "10", "sort": "total_high"})
    url = next_link(first.text)
    assert url
    wrong = await support.get(url.replace("sort=total_high", "sort=newest"))
    assert wrong.status_code == 422
    assert "start again from the first page" in wrong.text


@pytest.mark.parametrize("sort", ["newest", "oldest", "total_high", "total_low"])
async def test_keyset_pages_break_ties_by_id(
    ctx: AppContext, staff_client: StaffClientFactory, sort: str
) -> None:
    at = utcnow() - timedelta(hours=1)
    async with ctx.db.session() as session:
        made = await goods(session)
        same = [await make_order(session, made, created_at=at, total_minor=4200) for _ in range(12)]
    by_id = [o.number for o in sorted(same, key=lambda o: o.id)]
    expected = by_id[::-1] if sort in ("newest", "total_high") else by_id
    support = await staff_client("support")
    seen: list[str] = []
    url: str | None = f"/admin/orders?sort={sort}&limit=10"
    while url:
        response = await support.get(url)
        seen += numbers_in(response.text)
        url = next_link(response.text)
    assert seen == expected
