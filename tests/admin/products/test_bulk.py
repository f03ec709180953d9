"""Bulk edits from the product list: on ticked products and on a whole filter (a background job with its
progress page), previewed before anything changes; an audit entry per product changed; hostile forms
refused with a message and nothing changed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from emporium.audit.models import AuditEntry
from emporium.catalog.models import Product, ProductBulkEdit, ProductVariant
from emporium.core.context import AppContext
from emporium.core.jobs.models import Job, JobStatus
from tests.admin.conftest import StaffClient, StaffClientFactory, csrf_of
from tests.admin.products.conftest import audit_count, prices_of, product_row, shelf
from tests.inventory.factory import make_category, make_product


def _form(client: StaffClient, **fields: Any) -> dict[str, Any]:
    return {
        "csrf_token": client.csrf,
        "scope": "selected",
        "action": "publish",
        "category_id": "",
        "price_mode": "percent",
        "price_direction": "up",
        "price_value": "",
        "query": "",
        **fields,
    }


async def _statuses(ctx: AppContext, ids: list[int]) -> dict[int, tuple[str, bool, int | None]]:
    async with ctx.db.session() as session:
        rows = await session.execute(
            select(Product.id, Product.status, Product.is_featured, Product.category_id).where(
                Product.id.in_(ids)
            )
        )
        return {pid: (status, featured, category) for pid, status, featured, category in rows.all()}


async def test_publish_ticked_products_previews_then_applies_with_an_audit_entry_each(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    made = await shelf(ctx)
    admin = await staff_client("admin")
    ticked = [made.ids["Charlie kite"], made.ids["Golf scarf"], made.ids["Alpha shirt"]]
    before = await _statuses(ctx, list(made.ids.values()))
    preview = await admin.post("/admin/products/bulk/preview", data=_form(admin, product_id=ticked))
    assert preview.status_code == 200
    assert "3 ticked products" in preview.text
    assert "Charlie kite" in preview.text
    assert "<del>draft</del> → <ins>active</ins>" in preview.text
    assert "1 of them is already as asked" in preview.text
    assert await _statuses(ctx, list(made.ids.values())) == before
    applied = await admin.post("/admin/products/bulk/apply", data=_form(admin, product_id=ticked))
    assert applied.status_code == 303
    assert "2 products changed" in (await admin.get(applied.headers["location"])).text
    after = await _statuses(ctx, ticked)
    assert {status for status, _, _ in after.values()} == {"active"}
    assert await audit_count(ctx, "product.bulk_updated") == 2


@pytest.mark.parametrize(
    ("action", "check"),
    [
        ("archive", lambda row: row[0] == "archived"),
        ("feature", lambda row: row[1] is True),
        ("unfeature", lambda row: row[1] is False),
    ],
)
async def test_archive_feature_and_unfeature_ticked_products(
    ctx: AppContext, staff_client: StaffClientFactory, action: str, check: Any
) -> None:
    made = await shelf(ctx)
    admin = await staff_client("admin")
    ticked = [made.ids["Bravo coat"], made.ids["Foxtrot yo-yo"]]
    response = await admin.post(
        "/admin/products/bulk/apply", data=_form(admin, action=action, product_id=ticked)
    )
    assert response.status_code == 303
    assert all(check(row) for row in (await _statuses(ctx, ticked)).values())
    untouched = await _statuses(ctx, [made.ids["Echo shirt"]])
    assert untouched[made.ids["Echo shirt"]] == ("active", True, made.shirts.id)


async def test_move_ticked_products_to_a_category(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    made = await shelf(ctx)
    admin = await staff_client("admin")
    ticked = [made.ids["Delta ball"], made.ids["Golf scarf"]]
    form = _form(admin, action="move", category_id=str(made.clothes.id), product_id=ticked)
    preview = await admin.post("/admin/products/bulk/preview", data=form)
    assert "<del>Toys</del> → <ins>Clothes</ins>" in preview.text
    assert "<del>—</del> → <ins>Clothes</ins>" in preview.text
    assert (await admin.post("/admin/products/bulk/apply", data=form)).status_code == 303
    assert {row[2] for row in (await _statuses(ctx, ticked)).values()} == {made.clothes.id}
    async with ctx.db.session() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.object_id == str(made.ids["Delta ball"]))
        )
        assert entry is not None
        assert json.loads(entry.changes or "{}") == {"category": ["Toys", "Clothes"]}


async def test_a_whole_filter_changes_in_a_background_job_with_its_progress(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    made = await shelf(ctx)
    admin = await staff_client("admin")
    query = f"category={made.toys.id}&brand={made.acme.id}"
    form = _form(admin, scope="filter", action="feature", query=query)
    preview = await admin.post("/admin/products/bulk/preview", data=form)
    assert "Every product of the filter: 2" in preview.text
    started = await admin.post("/admin/products/bulk/apply", data=form)
    assert started.status_code == 303
    progress_url = started.headers["location"]
    assert re.fullmatch(r"/admin/products/bulk/\d+", progress_url)
    waiting = await admin.get(progress_url)
    assert "Waiting to start: 2 products" in waiting.text
    assert f'hx-get="{progress_url}/progress"' in waiting.text
    await ctx.jobs.run_until_idle()
    done = await admin.get(progress_url + "/progress")
    assert done.status_code == 200
    assert "Done: 2 products changed" in done.text
    assert "hx-trigger" not in done.text
    featured = await _statuses(
        ctx, [made.ids["Charlie kite"], made.ids["Foxtrot yo-yo"], made.ids["Alpha shirt"]]
    )
    assert [row[1] for row in featured.values()] == [False, True, True]
    assert await audit_count(ctx, "product.bulk_updated") == 2


async def test_a_job_walks_a_filter_larger_than_its_batches(
    ctx: AppContext, staff_client: StaffClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publishing every draft: the filter shrinks as the job goes, yet no draft is missed."""
    from emporium.catalog import bulk

    monkeypatch.setattr(bulk, "BATCH", 4)
    async with ctx.db.session() as session:
        drafts = [(await make_product(session, f"Draft {i}", status="draft")).product.id for i in range(11)]
    admin = await staff_client("admin")
    started = await admin.post(
        "/admin/products/bulk/apply",
        data=_form(admin, scope="filter", action="publish", query="status=draft"),
    )
    await ctx.jobs.run_until_idle()
    assert {row[0] for row in (await _statuses(ctx, drafts)).values()} == {"active"}
    edit_id = int(started.headers["location"].rsplit("/", 1)[1])
    async with ctx.db.session() as session:
        edit = await session.get(ProductBulkEdit, edit_id)
        assert edit is not None
        assert (edit.status, edit.total, edit.processed, edit.changed) == ("done", 11, 11, 11)
    assert await audit_count(ctx, "product.bulk_updated") == 11


async def test_a_percentage_price_change_previews_then_applies_rounded_to_the_cent(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Round tee", prices=("9.95", "19.99"))
        tee.variants[1].compare_at_minor = 2499
        mug = await make_product(session, "Round mug", prices=("3.33",))
    admin = await staff_client("admin")
    form = _form(
        admin,
        action="price",
        price_mode="percent",
        price_direction="up",
        price_value="12.5",
        product_id=[tee.product.id, mug.product.id],
    )
    preview = await admin.post("/admin/products/bulk/preview", data=form)
    assert preview.status_code == 200
    assert "Change prices up by 12.5 %" in preview.text
    assert "<del>9.95</del> → <ins>11.19</ins>" in preview.text  # 11.19375
    assert "<del>24.99</del> → <ins>28.11</ins>" in preview.text  # 28.11375
    assert "<del>3.33</del> → <ins>3.75</ins>" in preview.text  # 3.74625
    assert await prices_of(ctx, tee.product.id) == [(995, None), (1999, 2499)]
    assert (await admin.post("/admin/products/bulk/apply", data=form)).status_code == 303
    assert await prices_of(ctx, tee.product.id) == [(1119, None), (2249, 2811)]
    assert await prices_of(ctx, mug.product.id) == [(375, None)]
    product = await product_row(ctx, tee.product.id)
    assert (product.price_min_minor, product.price_max_minor) == (1119, 2249)
    async with ctx.db.session() as session:
        entries = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "product.bulk_updated"))
        ).all()
    assert len(entries) == 2
    tee_entry = next(e for e in entries if e.object_id == str(tee.product.id))
    changes = json.loads(tee_entry.changes or "{}")
    assert changes[f"price {tee.variants[0].sku}"] == ["9.95", "11.19"]
    assert changes[f"compare_at {tee.variants[1].sku}"] == ["24.99", "28.11"]


async def test_an_amount_price_change_over_a_filter_shows_on_the_shop(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        sale = await make_category(session, "Sale")
        cap = await make_product(session, "Sale cap", category=sale, prices=("20.00",))
        await make_product(session, "Full price cap", prices=("20.00",))
    admin = await staff_client("admin")
    shop_before = await admin.get(f"/api/v1/products/{cap.product.slug}")
    assert shop_before.json()["data"]["price_min"] == "20.00"
    form = _form(
        admin,
        scope="filter",
        action="price",
        price_mode="amount",
        price_direction="down",
        price_value="2.50",
        query=f"category={sale.id}",
    )
    preview = await admin.post("/admin/products/bulk/preview", data=form)
    assert "<del>20.00</del> → <ins>17.50</ins>" in preview.text
    assert "Full price cap" not in preview.text
    await admin.post("/admin/products/bulk/apply", data=form)
    await ctx.jobs.run_until_idle()
    shop_after = await admin.get(f"/api/v1/products/{cap.product.slug}")
    assert shop_after.json()["data"]["price_min"] == "17.50"
    page = await admin.get(f"/p/{cap.product.slug}")
    assert "17.50" in page.text


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"action": "price", "price_value": "-5"}, 422, "above zero"),
        ({"action": "price", "price_value": "1e30"}, 422, "at most 1000"),
        ({"action": "price", "price_mode": "amount", "price_value": "99999999999999"}, 422, "at most"),
        ({"action": "price", "price_mode": "amount", "price_value": "1.001"}, 422, "2 decimal places"),
        (
            {"action": "price", "price_mode": "amount", "price_direction": "down", "price_value": "6"},
            422,
            "below zero",
        ),
        ({"action": "price", "price_value": "<script>"}, 422, "as a number"),
        ({"action": "move", "category_id": "987654"}, 422, "does not exist"),
        ({"action": "move", "category_id": "x<script>"}, 422, "does not exist"),
        ({"action": "move"}, 422, "Choose the category"),
        ({"product_id": []}, 422, "Tick the products"),
        ({"product_id": [987654]}, 404, "no longer exist"),
        ({"query": "status=deleted"}, 422, "filters are not valid"),
    ],
)
async def test_hostile_bulk_forms_are_refused_with_a_message_and_change_nothing(
    ctx: AppContext, staff_client: StaffClientFactory, fields: dict[str, Any], status: int, message: str
) -> None:
    async with ctx.db.session() as session:
        cheap = await make_product(session, "Cheap pin", prices=("5.00",), status="draft")
    admin = await staff_client("admin")
    form = _form(admin, product_id=[cheap.product.id]) | fields
    for url in ("/admin/products/bulk/preview", "/admin/products/bulk/apply"):
        response = await admin.post(url, data=form)
        assert response.status_code == status, response.text
        assert message in response.text
        assert "<script>" not in response.text.split("</header>", 1)[1]
    assert await prices_of(ctx, cheap.product.id) == [(500, None)]
    assert (await product_row(ctx, cheap.product.id)).status == "draft"
    assert await audit_count(ctx, "product.bulk_updated") == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"product_id": ["abc"]},
        {"product_id": ["99999999999999999999999"]},
        {"action": "delete"},
        {"scope": "everything"},
        {"price_value": "9" * 100},
    ],
)
async def test_malformed_bulk_forms_answer_422(
    ctx: AppContext, staff_client: StaffClientFactory, fields: dict[str, Any]
) -> None:
    admin = await staff_client("admin")
    response = await admin.post("/admin/products/bulk/apply", data=_form(admin, product_id=[1]) | fields)
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]


async def test_more_than_the_selection_limit_is_refused(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    response = await admin.post(
        "/admin/products/bulk/preview", data=_form(admin, product_id=list(range(1, 502)))
    )
    assert response.status_code == 422
    assert "at most 500" in response.text


async def test_a_price_change_taking_one_product_below_zero_changes_none_of_the_filter(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        tag = await make_category(session, "Mixed")
        dear = await make_product(session, "Dear lamp", category=tag, prices=("50.00",))
        cheap = await make_product(session, "Cheap lamp", category=tag, prices=("1.00",))
    admin = await staff_client("admin")
    form = _form(
        admin,
        scope="filter",
        action="price",
        price_mode="amount",
        price_direction="down",
        price_value="2",
        query=f"category={tag.id}",
    )
    response = await admin.post("/admin/products/bulk/apply", data=form)
    assert response.status_code == 422
    assert "below zero" in response.text
    await ctx.jobs.run_until_idle()
    assert await prices_of(ctx, dear.product.id) == [(5000, None)]
    assert await prices_of(ctx, cheap.product.id) == [(100, None)]
    async with ctx.db.session() as session:
        assert await session.scalar(select(ProductBulkEdit.id)) is None
        assert await session.scalar(select(ProductVariant.id).where(ProductVariant.price_minor < 0)) is None


async def test_a_bulk_change_whose_job_died_says_so_and_carries_on_once_retried(
    ctx: AppContext, staff_client: StaffClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The progress page stops polling and names the job's error instead of waiting for ever; retried from
    the jobs screen, the change carries on from the batch where it stopped."""
    from emporium.catalog import bulk

    monkeypatch.setattr(bulk, "BATCH", 4)
    async with ctx.db.session() as session:
        drafts = [(await make_product(session, f"Draft {i}", status="draft")).product.id for i in range(6)]
    owner = await staff_client("super_admin")
    started = await owner.post(
        "/admin/products/bulk/apply",
        data=_form(owner, scope="filter", action="publish", query="status=draft"),
    )
    progress_url = started.headers["location"]
    edit_id = int(progress_url.rsplit("/", 1)[1])
    async with ctx.db.session() as session:
        edit = await session.get(ProductBulkEdit, edit_id)
        assert edit is not None
        assert edit.job_id is not None
        # The first batch went through, then the runner gave up on the job (as after its last attempt).
        assert await bulk.bulk_editor.run_batch(session, edit_id)
        job = await session.get(Job, edit.job_id)
        assert job is not None
        job.status, job.last_error = JobStatus.DEAD, "OperationalError: the database went away"
    stopped = await owner.get(progress_url + "/progress")
    assert "The change stopped after 4 products: OperationalError: the database went away" in stopped.text
    assert "hx-trigger" not in stopped.text
    assert 'href="/admin/jobs?state=dead"' in stopped.text
    admin_view = await (await staff_client("admin")).get(progress_url)
    assert "A super admin can retry it" in admin_view.text

    token = csrf_of((await owner.get("/admin/jobs?state=dead")).text)
    assert (await owner.post(f"/admin/jobs/{job.id}/retry", data={"csrf_token": token})).status_code == 303
    assert "hx-trigger" in (await owner.get(progress_url + "/progress")).text
    await ctx.jobs.run_until_idle()
    assert "Done: 6 products changed" in (await owner.get(progress_url + "/progress")).text
    assert {row[0] for row in (await _statuses(ctx, drafts)).values()} == {"active"}
    assert await audit_count(ctx, "product.bulk_updated") == 6
