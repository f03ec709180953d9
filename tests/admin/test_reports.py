"""/admin/reports: every report renders with its chart and table, its CSV export holds exactly the table's
rows, only staff who may read the figures reach it, hostile parameters get a message, and the statements a
report costs do not grow with its range."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.admin.page import neutralise_cell
from emporium.admin.report_tables import ReportKind
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from tests.admin.conftest import StaffClientFactory
from tests.admin.test_dashboard import assert_csp_clean
from tests.analytics.factory import LineSpec, OrderSpec, add_order, open_shop
from tests.support import count_statements


class TableRows(HTMLParser):
    """The header and body rows of the page's report table, as text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.inside = False
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", "report-table") in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_of(html: str) -> list[list[str]]:
    parser = TableRows()
    parser.feed(html)
    return parser.rows


async def a_month_of_sales(ctx: AppContext) -> None:
    now = utcnow()
    async with ctx.db.session() as session:
        shop = await open_shop(session, [now - timedelta(days=40), now - timedelta(days=2)])
        for n in range(12):
            placed = now - timedelta(days=n * 2, minutes=10)
            spec = OrderSpec(
                placed,
                2_000 + n,
                "delivered" if n % 3 else "partially refunded",
                ("user", n % 2) if n % 4 else ("guest", n),
                payment_method=("test", "cash_on_delivery", "bank_transfer")[n % 3],
                coupon="SPRING" if n % 2 else None,
                discount_minor=100 if n % 2 else 0,
                lines=(LineSpec(n % 3, 1 + n % 2, 1_800 + n),),
                # A refund larger than its day's sales makes that day's revenue negative.
                refunds=((now - timedelta(minutes=1), 5_000, True),) if n == 9 else (),
            )
            await add_order(session, shop, spec)


@pytest.mark.parametrize("kind", list(ReportKind))
@pytest.mark.parametrize("granularity", ["day", "week", "month"])
async def test_each_report_renders_and_its_csv_is_its_table(
    ctx: AppContext, staff_client: StaffClientFactory, kind: ReportKind, granularity: str
) -> None:
    await a_month_of_sales(ctx)
    admin = await staff_client("admin")
    today = utcnow().date()
    params = {
        "report": kind.value,
        "from": (today - timedelta(days=30)).isoformat(),
        "to": today.isoformat(),
        "granularity": granularity,
    }
    response = await admin.get("/admin/reports", params=params)
    assert response.status_code == 200, response.text
    assert_csp_clean(response.text)
    assert f"<h1>{kind.heading}</h1>" in response.text
    assert response.text.count("<svg") == 1
    shown = table_of(response.text)
    assert len(shown) > 1
    exported = await admin.get("/admin/reports", params={**params, "format": "csv"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert f"{kind.value}-{params['from']}-to-{params['to']}.csv" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows == [[neutralise_cell(cell) for cell in row] for row in shown]


async def test_the_tables_add_up_to_the_orders(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    await a_month_of_sales(ctx)
    admin = await staff_client("super_admin")
    today = utcnow().date()
    params = {"from": (today - timedelta(days=40)).isoformat(), "to": today.isoformat(), "format": "csv"}
    sales = list(csv.DictReader(io.StringIO((await admin.get("/admin/reports", params=params)).text)))
    assert sum(int(row["Orders"]) for row in sales) == 12
    # Twelve orders of 20.00 + n cents (n = 0..11), less the one refund of 50.00.
    assert sum(float(row["Revenue (USD)"]) for row in sales) == pytest.approx(240.66 - 50.00)
    assert any(row["Revenue (USD)"].startswith("-") for row in sales)
    by_method = await admin.get("/admin/reports", params={**params, "report": "payment_methods"})
    methods = {row["Payment method"]: row for row in csv.DictReader(io.StringIO(by_method.text))}
    assert set(methods) == {"Card (test mode)", "Cash on delivery", "Bank transfer"}
    assert sum(int(row["Orders"]) for row in methods.values()) == 12
    # Order 9 (paid by card) was refunded 50.00.
    assert methods["Card (test mode)"]["Refunded (USD)"] == "50.00"


async def test_support_may_not_open_reports(staff_client: StaffClientFactory) -> None:
    support = await staff_client("support")
    for params in ({}, {"format": "csv"}):
        response = await support.get("/admin/reports", params=params)
        assert response.status_code == 403
        assert "Your role does not allow this" in response.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-03-10", "to": "2026-03-01"}, "The end date must not be before the start date."),
        ({"from": "2010-01-01", "to": "2026-01-01"}, "A report covers at most"),
        ({"from": "1900-01-01", "to": "1900-01-02"}, "Dates must lie between"),
        ({"from": "2026-02-30"}, "Some details need another look"),
        ({"from": "yesterday"}, "Some details need another look"),
        ({"to": "2026-01-01'><script>"}, "Some details need another look"),
        ({"report": "salaries"}, "Some details need another look"),
        ({"granularity": "hour"}, "Some details need another look"),
        ({"format": "xlsx"}, "Some details need another look"),
        ({"report": "x" * 3000}, "Some details need another look"),
    ],
)
async def test_hostile_parameters_get_a_message(
    staff_client: StaffClientFactory, params: dict[str, str], message: str
) -> None:
    admin = await staff_client("admin")
    response = await admin.get("/admin/reports", params=params)
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]
    assert message in response.text
    assert "<script>" not in response.text


@pytest.mark.parametrize("kind", list(ReportKind))
async def test_a_report_costs_the_same_statements_over_a_week_or_four_years(
    ctx: AppContext, staff_client: StaffClientFactory, engine: AsyncEngine, kind: ReportKind
) -> None:
    await a_month_of_sales(ctx)
    admin = await staff_client("admin")
    today = utcnow().date()
    counts = []
    for days, granularity in ((7, "day"), (1460, "day"), (1460, "week"), (1460, "month")):
        params = {
            "report": kind.value,
            "from": (today - timedelta(days=days)).isoformat(),
            "to": today.isoformat(),
            "granularity": granularity,
        }
        with count_statements(engine) as sent:
            assert (await admin.get("/admin/reports", params=params)).status_code == 200
        counts.append(len(sent))
    assert len(set(counts)) == 1, counts
    # The staff session and one statement for the report (two for customers and their sign-ups).
    assert counts[0] == (3 if kind is ReportKind.CUSTOMERS else 2)
