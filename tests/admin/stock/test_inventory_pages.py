"""/admin/inventory: the pool list (search, low and out of stock, keyset pages, statements per page), a
pool's page (a count never below what is reserved, an adjustment with its reason, the threshold, the
history) and the audit entries; refusals answer a message and change nothing; support staff get 403."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.audit.models import AuditEntry
from emporium.core.context import AppContext
from emporium.inventory.models import StockAdjustment, StockPool
from tests.admin.conftest import StaffClient, StaffClientFactory
from tests.inventory.factory import make_pool, make_product
from tests.support import count_statements


async def pool_state(ctx: AppContext, pool_id: int) -> tuple[int, int, int]:
    async with ctx.db.session() as session:
        pool = await session.get(StockPool, pool_id)
        assert pool is not None
        adjustments = await session.scalar(
            select(func.count()).select_from(StockAdjustment).where(StockAdjustment.pool_id == pool_id)
        )
        return pool.on_hand, pool.low_stock_threshold, int(adjustments or 0)


async def audit_actions(ctx: AppContext, pool_id: int) -> list[tuple[str, str | None]]:
    async with ctx.db.session() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.changes)
            .where(AuditEntry.object_type == "stock_pool", AuditEntry.object_id == str(pool_id))
            .order_by(AuditEntry.id)
        )
        return [(action, changes) for action, changes in rows.all()]


async def post(client: StaffClient, url: str, form: dict[str, str]) -> object:
    page = await client.get(url.rsplit("/", 1)[0])
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    return await client.post(url, data={**form, "csrf_token": token.group(1)})


async def test_a_count_below_what_is_reserved_is_refused_and_changes_nothing(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        made = await make_product(session, "Navy tee", on_hand=10, reserved=4)
    pool_id = made.pools[0].id
    admin = await staff_client("admin")
    response = await post(admin, f"/admin/inventory/{pool_id}/count", {"on_hand": "3", "reason": "count"})
    assert response.status_code == 409
    text = unescape(response.text)
    assert (
        "4 pc of this pool are reserved by orders; the count cannot be set to 3. Nothing was changed." in text
    )
    assert await pool_state(ctx, pool_id) == (10, 0, 0)
    assert await audit_actions(ctx, pool_id) == []

    done = await post(admin, f"/admin/inventory/{pool_id}/count", {"on_hand": "4", "reason": ""})
    assert done.status_code == 303
    assert await pool_state(ctx, pool_id) == (4, 0, 1)
    [(action, changes)] = await audit_actions(ctx, pool_id)
    assert action == "stock.counted"
    assert changes is not None
    assert '"on_hand": [10, 4]' in changes
    page = await admin.get(f"/admin/inventory/{pool_id}")
    assert "Stock count" in page.text
    assert "On hand set to 4 pc." in page.text


async def test_an_adjustment_with_a_reason_writes_history_and_audit(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        made = await make_product(session, "Sweets", on_hand=1000, reserved=250)
    pool_id = made.pools[0].id
    admin = await staff_client("admin")
    url = f"/admin/inventory/{pool_id}/adjust"
    assert (await post(admin, url, {"delta": "-30", "reason": "Broken box"})).status_code == 303
    assert (await post(admin, url, {"delta": "+500", "reason": "Delivery 4711"})).status_code == 303
    assert await pool_state(ctx, pool_id) == (1470, 0, 2)
    actions = await audit_actions(ctx, pool_id)
    assert [a for a, _ in actions] == ["stock.adjusted", "stock.adjusted"]
    assert '"on_hand": [1000, 970]' in str(actions[0][1])
    page = await admin.get(f"/admin/inventory/{pool_id}")
    history = page.text[page.text.index("History") :]
    assert history.index("Delivery 4711") < history.index("Broken box")
    assert admin.email in history
    assert "+500" in history
    assert "1470" in history

    # Taking away more than is free is refused with the reason, nothing changed.
    refused = await post(admin, url, {"delta": "-1300", "reason": "Lost"})
    assert refused.status_code == 409
    assert "Nothing was changed." in refused.text
    assert await pool_state(ctx, pool_id) == (1470, 0, 2)


async def test_history_pages_by_keyset(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    async with ctx.db.session() as session:
        pool = await make_pool(session, "Paged", on_hand=0)
        for n in range(30):
            session.add(StockAdjustment(pool_id=pool.id, delta=1, on_hand_after=n + 1, reason=f"R-{n:02d}"))
    admin = await staff_client("admin")
    first = await admin.get(f"/admin/inventory/{pool.id}")
    assert "R-29" in first.text
    assert "R-04" not in first.text
    link = re.search(r'href="(/admin/inventory/\d+\?before=[^"]+)" rel="next"', first.text)
    assert link
    second = await admin.get(unescape(link.group(1)))
    assert "R-04" in second.text
    assert "R-29" not in second.text
    assert 'rel="next"' not in second.text


async def test_the_threshold_is_set_and_audited(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    async with ctx.db.session() as session:
        pool = await make_pool(session, "Caps", on_hand=8)
    admin = await staff_client("admin")
    assert (
        await post(admin, f"/admin/inventory/{pool.id}/threshold", {"threshold": "10"})
    ).status_code == 303
    assert await pool_state(ctx, pool.id) == (8, 10, 0)
    [(action, changes)] = await audit_actions(ctx, pool.id)
    assert action == "stock.threshold_changed"
    assert '"low_stock_threshold": [0, 10]' in str(changes)
    listed = await admin.get("/admin/inventory", params={"low_stock": "1"})
    assert "Caps" in listed.text
    assert "low stock" in listed.text


@pytest.mark.parametrize(
    ("action", "form", "field_message"),
    [
        ("count", {"on_hand": "-1"}, "Give a whole number, 0 or more."),
        ("count", {"on_hand": "12.5"}, "Give a whole number, 0 or more."),
        ("count", {"on_hand": "1" + "0" * 20}, "At most"),
        ("count", {"on_hand": "5", "reason": "card 4242 4242 4242 4242"}, "Remove the card number"),
        ("adjust", {"delta": "5", "reason": "  "}, "Say why the stock changes"),
        ("adjust", {"delta": "0", "reason": "x"}, "Give a change other than 0"),
        ("adjust", {"delta": "ten", "reason": "x"}, "Give a whole number such as 12 or -3."),
        ("adjust", {"delta": "-" + "9" * 17, "reason": "x"}, "At most"),
        ("adjust", {"delta": "3", "reason": "a\x00b"}, "Use plain text."),
        ("adjust", {"delta": "3", "reason": "x" * 501}, "At most 500 characters."),
        ("threshold", {"threshold": "-2"}, "Give a whole number, 0 or more."),
        ("threshold", {"threshold": "<script>"}, "Give a whole number, 0 or more."),
    ],
)
async def test_hostile_input_answers_a_message_and_changes_nothing(
    ctx: AppContext,
    staff_client: StaffClientFactory,
    action: str,
    form: dict[str, str],
    field_message: str,
) -> None:
    async with ctx.db.session() as session:
        pool = await make_pool(session, "Hostile", on_hand=7, threshold=2)
    admin = await staff_client("admin")
    response = await post(admin, f"/admin/inventory/{pool.id}/{action}", form)
    assert response.status_code == 422
    assert field_message in unescape(response.text)
    assert "4242 4242" not in response.text
    assert await pool_state(ctx, pool.id) == (7, 2, 0)
    assert await audit_actions(ctx, pool.id) == []


async def test_unknown_pools_and_bad_parameters(staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    assert (await admin.get("/admin/inventory/999999")).status_code == 404
    assert (await admin.get("/admin/inventory", params={"after": "not-a-cursor"})).status_code == 422
    assert (await admin.get("/admin/inventory", params={"low_stock": "yes"})).status_code == 422
    assert (await admin.get("/admin/inventory", params={"q": "a\x00"})).status_code == 422


async def test_support_staff_get_403(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    async with ctx.db.session() as session:
        pool = await make_pool(session, "Hidden", on_hand=7)
    support = await staff_client("support")
    assert (await support.get("/admin/inventory")).status_code == 403
    assert (await support.get(f"/admin/inventory/{pool.id}")).status_code == 403
    home = await support.get("/admin")
    assert 'href="/admin/inventory"' not in home.text
    forged = await support.post(
        f"/admin/inventory/{pool.id}/adjust", data={"delta": "5", "reason": "x", "csrf_token": support.csrf}
    )
    assert forged.status_code == 403
    assert await pool_state(ctx, pool.id) == (7, 0, 0)


async def test_the_list_searches_filters_and_pages(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Navy tee", on_hand=3)
        await make_product(session, "Red cap", on_hand=0)
        await make_pool(session, "Gram pool", unit="g", on_hand=100, threshold=500)
        for n in range(55):
            await make_pool(session, f"Filler {n:02d}", on_hand=50)
    admin = await staff_client("admin")
    sku = tee.variants[0].sku
    by_sku = await admin.get("/admin/inventory", params={"q": sku.lower()})
    assert "Navy tee" in by_sku.text
    assert "Red cap" not in by_sku.text
    assert f'href="/admin/products/{tee.product.id}/variants"' in by_sku.text
    assert "Navy tee" in (await admin.get("/admin/inventory", params={"q": "NAVY"})).text
    assert "Filler" not in (await admin.get("/admin/inventory", params={"q": "%"})).text
    by_pool_name = await admin.get("/admin/inventory", params={"q": "RAM po"})
    assert "Gram pool" in by_pool_name.text
    assert "Navy tee" not in by_pool_name.text
    # A SKU is matched whole: a piece of one finds nothing.
    assert "Navy tee" not in (await admin.get("/admin/inventory", params={"q": sku[:-1]})).text

    low = await admin.get("/admin/inventory", params={"low_stock": "1"})
    assert "Gram pool" in low.text
    assert "Red cap" in low.text
    assert "Navy tee" not in low.text
    out = await admin.get("/admin/inventory", params={"out_of_stock": "1"})
    assert "Red cap" in out.text
    assert "Gram pool" not in out.text
    assert "out of stock" in out.text

    first = await admin.get("/admin/inventory")
    names = re.findall(r'<a href="/admin/inventory/\d+">([^<]+)</a>', first.text)
    assert len(names) == 50
    link = re.search(r'href="(/admin/inventory\?after=[^"]+)" rel="next"', first.text)
    assert link
    second = await admin.get(unescape(link.group(1)))
    more = re.findall(r'<a href="/admin/inventory/\d+">([^<]+)</a>', second.text)
    assert len(more) == 8
    assert not set(names) & set(more)
    assert names + more == sorted(names + more)


async def test_the_list_costs_the_same_statements_whatever_the_pools(
    ctx: AppContext, staff_client: StaffClientFactory, engine: AsyncEngine
) -> None:
    admin = await staff_client("admin")
    counts = []
    for products in (1, 20):
        async with ctx.db.session() as session:
            for n in range(products):
                await make_product(session, f"Thing {n}", prices=("1.00", "2.00"))
        with count_statements(engine) as sent:
            assert (await admin.get("/admin/inventory", params={"q": "thing"})).status_code == 200
        counts.append(len(sent))
    # The staff session, the pools, the variants drawing from them.
    assert counts == [3, 3]


async def test_the_home_page_links_low_stock_to_the_filtered_list(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        await make_pool(session, "Almost gone", on_hand=1, threshold=5)
    admin = await staff_client("admin")
    home = await admin.get("/admin")
    assert 'href="/admin/inventory?low_stock=1"' in home.text
    listed = await admin.get("/admin/inventory?low_stock=1")
    assert "Almost gone" in listed.text
