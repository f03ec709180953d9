"""Stock pools in the variant editor: the sweet shop's boxes of 250 g, 500 g and 1 kg built in the editor
on one gram pool, what each box can sell shown from the pool and reduced by a storefront purchase of
another box, and a count below what orders hold refused with nothing changed."""

from __future__ import annotations

import httpx
import pytest

from emporium.catalog.cache import VERSION_KEY
from emporium.core import changes
from emporium.core.context import AppContext
from emporium.inventory.models import StockAdjustment, StockPool
from emporium.inventory.schemas import AdjustmentCreate
from emporium.inventory.service import inventory
from tests.admin.conftest import StaffClient, StaffClientFactory
from tests.admin.products.factory import form_of, make_product, make_sweet, plain_variant, rows_of
from tests.admin.products.test_variant_editor import _build, _buy, _detail
from tests.support import data

pytestmark = pytest.mark.asyncio


def can_sell(html: str, variant_id: int) -> int:
    marker = f'data-can-sell="{variant_id}">'
    start = html.index(marker) + len(marker)
    return int(html[start : html.index("<", start)])


async def _pool(ctx: AppContext, pool_id: int) -> StockPool | None:
    async with ctx.db.session() as session:
        return await session.get(StockPool, pool_id, populate_existing=True)


async def _sweet_in_the_editor(ctx: AppContext, admin: StaffClient) -> tuple[int, list[int], int]:
    """Fudge in three boxes made with the option builder, then put on one gram pool in the grid."""
    product_id = await make_product(ctx, "Fudge", [plain_variant("FUDGE", "4.00")])
    built = await _build(admin, product_id, {"Weight": "250 g, 500 g, 1 kg"})
    assert built.status_code == 303, built.text
    url = f"/admin/products/{product_id}/variants"
    fields = form_of((await admin.get(url)).text, url)
    ids = rows_of(fields)
    shared = int(fields[f"pool.{ids[0]}"])
    for vid, draw, price in zip(ids, (250, 500, 1000), ("4.00", "7.50", "14.00"), strict=True):
        fields |= {f"pool.{vid}": str(shared), f"draw.{vid}": str(draw), f"price.{vid}": price}
    fields |= {f"on_hand.{shared}": "5000", f"unit.{shared}": "g"}
    saved = await admin.post(url, data=fields)
    assert saved.status_code == 303, saved.text
    return product_id, ids, shared


async def test_a_storefront_purchase_of_a_500_g_box_reduces_what_the_1_kg_box_can_sell(
    ctx: AppContext, staff_client: StaffClientFactory, client: httpx.AsyncClient
) -> None:
    admin = await staff_client("admin")
    product_id, (small, medium, large), pool_id = await _sweet_in_the_editor(ctx, admin)
    detail = await _detail(ctx, product_id)
    assert {v.pool_id for v in detail.variants} == {pool_id}
    # The boxes' own pools went once nothing drew from them.
    pools = [await _pool(ctx, v.pool_id) for v in detail.variants]
    assert all(p is not None and p.unit == "g" and p.on_hand == 5000 for p in pools)
    url = f"/admin/products/{product_id}/variants"
    page = (await admin.get(url)).text
    assert [can_sell(page, vid) for vid in (small, medium, large)] == [20, 10, 5]

    await _buy(ctx, client, medium, 3)  # 1,500 g reserved

    page = (await admin.get(url)).text
    assert [can_sell(page, vid) for vid in (small, medium, large)] == [14, 7, 3]
    assert 'data-reserved="1500"' in page
    shop = data(await client.get(f"/api/v1/products/{product_id}"))
    assert [v["availability"] for v in shop["variants"]] == [14, 7, 3]


async def test_on_hand_below_reserved_is_refused_and_nothing_changes(
    ctx: AppContext, staff_client: StaffClientFactory, client: httpx.AsyncClient
) -> None:
    admin = await staff_client("admin")
    product_id, ids, pool_id = await make_sweet(ctx, grams_on_hand=5000)
    await _buy(ctx, client, ids[2], 2)  # 2 kg reserved
    url = f"/admin/products/{product_id}/variants"
    fields = form_of((await admin.get(url)).text, url)
    fields |= {f"on_hand.{pool_id}": "1999", f"price.{ids[0]}": "4.50"}
    refused = await admin.post(url, data=fields)
    assert refused.status_code == 422
    assert (
        f'id="on-hand-{pool_id}-error">2000 are reserved for orders; on hand cannot be lower.' in refused.text
    )
    pool = await _pool(ctx, pool_id)
    assert pool is not None
    assert (pool.on_hand, pool.reserved) == (5000, 2000)
    assert (await _detail(ctx, product_id)).variants[0].price == "4.00"
    # The unit of a pool that orders hold stock of stays.
    fields |= {f"on_hand.{pool_id}": "5000", f"unit.{pool_id}": "pc"}
    assert (await admin.post(url, data=fields)).status_code == 422

    # At the reservation exactly: accepted, recorded as an adjustment and in the audit log.
    fields |= {f"on_hand.{pool_id}": "2000", f"unit.{pool_id}": "g"}
    assert (await admin.post(url, data=fields)).status_code == 303
    pool = await _pool(ctx, pool_id)
    assert pool is not None
    assert pool.on_hand == 2000
    async with ctx.db.session() as session:
        adjustment = (
            await session.execute(
                StockAdjustment.__table__.select()
                .where(StockAdjustment.pool_id == pool_id)
                .order_by(StockAdjustment.id.desc())
            )
        ).first()
    assert adjustment is not None
    assert (adjustment.delta, adjustment.on_hand_after) == (-3000, 2000)
    log = " ".join((await admin.get("/admin/audit", params={"action": "stock_pool"})).text.split())
    assert "stock_pool.counted" in log
    page = (await admin.get(url)).text
    assert [can_sell(page, vid) for vid in ids] == [0, 0, 0]


async def test_a_save_reaches_the_cached_storefront_at_once(
    ctx: AppContext, staff_client: StaffClientFactory, client: httpx.AsyncClient
) -> None:
    admin = await staff_client("admin")
    product_id = await make_product(ctx, "Mug", [plain_variant("MUG-1", "9.00", on_hand=3)])
    before = data(await client.get(f"/api/v1/products/{product_id}"))
    assert before["price_min"] == "9.00"
    stamp = await changes.read_stamp(ctx.cache, VERSION_KEY)
    url = f"/admin/products/{product_id}/variants"
    fields = form_of((await admin.get(url)).text, url)
    vid = rows_of(fields)[0]
    assert (await admin.post(url, data=fields | {f"price.{vid}": "11.00"})).status_code == 303
    assert await changes.read_stamp(ctx.cache, VERSION_KEY) != stamp
    after = data(await client.get(f"/api/v1/products/{product_id}"))
    assert after["price_min"] == "11.00"
    assert after["variants"][0]["price"] == "11.00"


async def test_a_count_left_as_shown_does_not_overwrite_a_change_made_meanwhile(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    product_id = await make_product(ctx, "Mug", [plain_variant("MUG-1", "9.00", on_hand=10)])
    url = f"/admin/products/{product_id}/variants"
    fields = form_of((await admin.get(url)).text, url)
    vid = rows_of(fields)[0]
    pool_id = int(fields[f"pool.{vid}"])
    assert fields[f"on_hand.{pool_id}"] == fields[f"seen.{pool_id}"] == "10"
    async with ctx.db.session() as session:
        await inventory.adjust(
            session, pool_id, AdjustmentCreate(delta=-3, reason="Broken in the shop"), None
        )
    assert (await admin.post(url, data=fields | {f"price.{vid}": "9.50"})).status_code == 303
    pool = await _pool(ctx, pool_id)
    assert pool is not None
    assert pool.on_hand == 7
    # A count typed over the page's figure is a stock take: it wins.
    fields = form_of((await admin.get(url)).text, url)
    assert (await admin.post(url, data=fields | {f"on_hand.{pool_id}": "12"})).status_code == 303
    pool = await _pool(ctx, pool_id)
    assert pool is not None
    assert pool.on_hand == 12
