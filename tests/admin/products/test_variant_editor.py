"""The variant editor: the option builder's grid, removals after confirmation, one-POST saves of many
rows with per-row errors and nothing saved when a row is wrong."""

from __future__ import annotations

import httpx
import pytest
from httpx import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.audit.service import audit
from emporium.catalog.models import ProductVariant
from emporium.catalog.schemas import ProductRead
from emporium.catalog.service import catalog
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClient, StaffClientFactory, csrf_of
from tests.admin.products.factory import form_of, make_product, plain_variant, rows_of
from tests.orders.factory import make_cart, make_shipping, order_body
from tests.support import count_statements

pytestmark = pytest.mark.asyncio


async def _detail(ctx: AppContext, product_id: int) -> ProductRead:
    async with ctx.db.session() as session:
        return await catalog.product_detail(session, ctx, product_id=product_id, staff=True)


async def test_the_option_builder_makes_four_sizes_by_two_colours(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    product_id = await make_product(ctx, "Classic Tee", [plain_variant("TEE", "19.00")])
    admin = await staff_client("admin")
    page = await admin.get(f"/admin/products/{product_id}/variants")
    assert page.status_code == 200, page.text
    action = f"/admin/products/{product_id}/variants/options"
    fields = form_of(page.text, action)
    assert fields["new_price"] == "19.00"
    fields |= {
        "option_name.0": "Size",
        "option_values.0": "S, M, L, XL",
        "option_name.1": "Colour",
        "option_values.1": "Red, Navy",
    }
    saved = await admin.post(action, data=fields)
    assert saved.status_code == 303, saved.text
    detail = await _detail(ctx, product_id)
    combos = [(v.options["size"], v.options["colour"]) for v in detail.variants]
    assert combos == [(s, c) for s in ("S", "M", "L", "XL") for c in ("Red", "Navy")]
    assert [v.sku for v in detail.variants] == [
        "TEE",
        "CLASSIC-TEE-S-NAVY",
        "CLASSIC-TEE-M-RED",
        "CLASSIC-TEE-M-NAVY",
        "CLASSIC-TEE-L-RED",
        "CLASSIC-TEE-L-NAVY",
        "CLASSIC-TEE-XL-RED",
        "CLASSIC-TEE-XL-NAVY",
    ]
    assert detail.variants[3].name == "Classic Tee M / Navy"
    assert {v.price for v in detail.variants} == {"19.00"}
    assert sum(v.is_default for v in detail.variants) == 1


async def _build(admin: StaffClient, product_id: int, options: dict[str, str], **extra: str) -> Response:
    action = f"/admin/products/{product_id}/variants/options"
    page = await admin.get(f"/admin/products/{product_id}/variants")
    fields = form_of(page.text, action)
    for i in range(3):
        fields[f"option_name.{i}"] = ""
        fields[f"option_values.{i}"] = ""
    for i, (name, values) in enumerate(options.items()):
        fields[f"option_name.{i}"] = name
        fields[f"option_values.{i}"] = values
    return await admin.post(action, data=fields | extra)


async def _tee(ctx: AppContext, admin: StaffClient) -> int:
    product_id = await make_product(ctx, "Classic Tee", [plain_variant("TEE", "19.00")])
    made = await _build(admin, product_id, {"Size": "S, M, L, XL", "Colour": "Red, Navy"})
    assert made.status_code == 303, made.text
    return product_id


async def test_adding_a_value_adds_its_combinations(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    product_id = await _tee(ctx, admin)
    added = await _build(admin, product_id, {"Size": "S, M, L, XL", "Colour": "Red, Navy, Green"})
    assert added.status_code == 303
    detail = await _detail(ctx, product_id)
    assert len(detail.variants) == 12
    greens = [v.options["size"] for v in detail.variants if v.options["colour"] == "Green"]
    assert greens == ["S", "M", "L", "XL"]
    # Positions follow the options: S/Red, S/Navy, S/Green, M/Red...
    assert [v.options["colour"] for v in detail.variants[:3]] == ["Red", "Navy", "Green"]


async def test_removing_a_value_asks_first_then_removes_its_variants_and_keeps_ordered_ones(
    ctx: AppContext, staff_client: StaffClientFactory, client: httpx.AsyncClient
) -> None:
    admin = await staff_client("admin")
    product_id = await _tee(ctx, admin)
    before = await _detail(ctx, product_id)
    xl_red = next(v for v in before.variants if v.options == {"size": "XL", "colour": "Red"})
    await _set_stock(admin, product_id, {xl_red.pool_id: "5"})
    await _buy(ctx, client, xl_red.id, 1)

    asked = await _build(admin, product_id, {"Size": "S, M, L", "Colour": "Red, Navy"})
    assert asked.status_code == 200
    text = " ".join(asked.text.split())
    assert "Remove 2 variants" in text
    assert "CLASSIC-TEE-XL-NAVY</strong> — Classic Tee XL / Navy: will be deleted." in text
    assert (
        "CLASSIC-TEE-XL-RED</strong> — Classic Tee XL / Red: has been ordered, so it cannot be deleted "
        "without breaking order history: it will be <strong>deactivated</strong> instead"
    ) in text
    # Nothing changed yet.
    assert len((await _detail(ctx, product_id)).variants) == 8

    confirm = form_of(asked.text, f"/admin/products/{product_id}/variants/options")
    assert confirm["confirm"] == "1"
    done = await admin.post(f"/admin/products/{product_id}/variants/options", data=confirm)
    assert done.status_code == 303
    after = await _detail(ctx, product_id)
    assert [v.sku for v in after.variants if v.options["size"] == "XL"] == ["CLASSIC-TEE-XL-RED"]
    assert [v.is_active for v in after.variants if v.options["size"] == "XL"] == [False]
    assert len(after.variants) == 7
    log = await admin.get("/admin/audit", params={"object_type": "variant"})
    assert "variant.deleted" in log.text
    assert "variant.deactivated" in log.text

    # The storefront no longer offers XL; adding it back makes the kept variant active again.
    again = await _build(admin, product_id, {"Size": "S, M, L, XL", "Colour": "Red, Navy"})
    assert again.status_code == 303
    restored = await _detail(ctx, product_id)
    xl = {v.sku: v.is_active for v in restored.variants if v.options["size"] == "XL"}
    assert xl == {"CLASSIC-TEE-XL-RED": True, "CLASSIC-TEE-XL-NAVY": True}


async def _set_stock(admin: StaffClient, product_id: int, counts: dict[int, str]) -> Response:
    url = f"/admin/products/{product_id}/variants"
    fields = form_of((await admin.get(url)).text, url)
    fields.update({f"on_hand.{pool_id}": count for pool_id, count in counts.items()})
    return await admin.post(url, data=fields)


async def _buy(ctx: AppContext, client: httpx.AsyncClient, variant_id: int, quantity: int) -> None:
    """A guest's order through the checkout API (the stock is reserved)."""
    async with ctx.db.session() as session:
        variant = await session.get(ProductVariant, variant_id)
        assert variant is not None
        method = await make_shipping(session, price="4.00")
        token = await make_cart(session, [(variant, quantity)])
    order = await client.post("/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": token})
    assert order.status_code == 201, order.text


async def test_a_hundred_variants_are_saved_in_one_post_with_a_bounded_number_of_statements(
    ctx: AppContext, engine: AsyncEngine, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    product_id = await make_product(ctx, "Big Tee", [plain_variant("BIG", "10.00")])
    sizes = ", ".join(f"S{i}" for i in range(10))
    colours = ", ".join(f"C{i}" for i in range(10))
    assert (await _build(admin, product_id, {"Size": sizes, "Colour": colours})).status_code == 303
    url = f"/admin/products/{product_id}/variants"
    fields = form_of((await admin.get(url)).text, url)
    ids = rows_of(fields)
    assert len(ids) == 100
    for n, vid in enumerate(ids):
        fields[f"price.{vid}"] = f"{12 + n}.50"
        fields[f"sku.{vid}"] = f"BIG-{n:03d}"
        fields[f"weight.{vid}"] = "180"
    pools = fields_pool(fields)
    assert len(pools) == 100
    fields |= {f"on_hand.{pool_id}": "7" for pool_id in pools}
    with count_statements(engine) as statements:
        saved = await admin.post(url, data=fields)
    assert saved.status_code == 303, saved.text
    # The staff member, the product, its grid, the SKU check, the pools' lock, one batch each of pools,
    # adjustments, variants and audit entries, the price range, and at most three for the stock edges (the
    # pools' last free stock, the variants with alerts waiting, the watch written: journeys/edges.py):
    # never one per row or pool.
    assert len(statements) <= 15, statements
    detail = await _detail(ctx, product_id)
    assert [v.price for v in detail.variants] == [f"{12 + n}.50" for n in range(100)]
    assert detail.price_min == "12.50"
    assert detail.price_max == "111.50"
    assert {v.weight_grams for v in detail.variants} == {180}
    assert {v.availability for v in detail.variants} == {7}


def fields_pool(fields: dict[str, str]) -> list[int]:
    return [int(key.split(".")[1]) for key in fields if key.startswith("on_hand.")]


async def test_one_bad_row_refuses_the_whole_save_and_names_the_row(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    product_id = await _tee(ctx, admin)
    url = f"/admin/products/{product_id}/variants"
    fields = form_of((await admin.get(url)).text, url)
    ids = rows_of(fields)
    for vid in ids:
        fields[f"price.{vid}"] = "25.00"
    fields[f"price.{ids[2]}"] = "12.345"
    fields[f"sku.{ids[5]}"] = fields[f"sku.{ids[4]}"]
    fields[f"compare_at.{ids[6]}"] = "lots"
    refused = await admin.post(url, data=fields)
    assert refused.status_code == 422
    assert "Nothing was saved" in refused.text
    assert f'id="price-{ids[2]}-error">USD amounts have at most 2 decimal places.' in refused.text
    assert f'id="sku-{ids[5]}-error">Two rows have this SKU.' in refused.text
    assert f'id="sku-{ids[4]}-error">Two rows have this SKU.' in refused.text
    assert f'id="compare_at-{ids[6]}-error">Not an amount' in refused.text
    # What was typed stays in the form.
    assert 'value="12.345"' in refused.text
    detail = await _detail(ctx, product_id)
    assert {v.price for v in detail.variants} == {"19.00"}


async def test_a_sku_of_another_product_is_refused(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    await make_product(ctx, "Other", [plain_variant("TAKEN-1")])
    product_id = await make_product(ctx, "Mine", [plain_variant("MINE-1")])
    url = f"/admin/products/{product_id}/variants"
    fields = form_of((await admin.get(url)).text, url)
    vid = rows_of(fields)[0]
    refused = await admin.post(url, data=fields | {f"sku.{vid}": "taken-1"})
    assert refused.status_code == 422
    assert f'id="sku-{vid}-error">Another product has this SKU.' in refused.text


@pytest.mark.parametrize(
    "change",
    [
        {"sku.{vid}": "has space"},
        {"price.{vid}": "-1"},
        {"price.{vid}": "NaN"},
        {"price.{vid}": "1e400"},
        {"draw.{vid}": "0"},
        {"weight.{vid}": "-5"},
        {"pool.{vid}": "999999"},
        {"name.{vid}": "bad\x01name"},
        {"default": "abc"},
    ],
)
async def test_hostile_rows_answer_422_and_change_nothing(
    ctx: AppContext, staff_client: StaffClientFactory, change: dict[str, str]
) -> None:
    admin = await staff_client("admin")
    product_id = await make_product(ctx, "Mine", [plain_variant("MINE-1", "5.00")])
    url = f"/admin/products/{product_id}/variants"
    fields = form_of((await admin.get(url)).text, url)
    vid = rows_of(fields)[0]
    fields[f"price.{vid}"] = "6.00"
    fields.update({key.format(vid=vid): value for key, value in change.items()})
    refused = await admin.post(url, data=fields)
    assert refused.status_code == 422, refused.text
    assert "Nothing was saved" in refused.text
    assert (await _detail(ctx, product_id)).variants[0].price == "5.00"


@pytest.mark.parametrize(
    "forged",
    [
        {"sku.99999999999999999999": "X"},
        {"sku.0": "X"},
        {"pool.{vid}": "x" * 400},
        {"price.{vid}": "1\x00"},
    ],
)
async def test_forged_forms_answer_4xx_and_change_nothing(
    ctx: AppContext, staff_client: StaffClientFactory, forged: dict[str, str]
) -> None:
    admin = await staff_client("admin")
    product_id = await make_product(ctx, "Mine", [plain_variant("MINE-1", "5.00")])
    url = f"/admin/products/{product_id}/variants"
    fields = form_of((await admin.get(url)).text, url)
    vid = rows_of(fields)[0]
    fields.update({key.format(vid=vid): value for key, value in forged.items()})
    refused = await admin.post(url, data=fields)
    assert 400 <= refused.status_code < 500, refused.text
    assert (await _detail(ctx, product_id)).variants[0].price == "5.00"


async def test_a_row_missing_from_the_form_is_a_conflict(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    product_id = await _tee(ctx, admin)
    url = f"/admin/products/{product_id}/variants"
    fields = form_of((await admin.get(url)).text, url)
    vid = rows_of(fields)[0]
    for name in ("name", "sku", "price", "compare_at", "weight", "draw", "pool", "active"):
        fields.pop(f"{name}.{vid}", None)
    refused = await admin.post(url, data=fields)
    assert refused.status_code == 409
    assert "changed since the page was opened" in refused.text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"Size": "S, S"}, "is listed twice"),
        ({"Size": ""}, "at least one value"),
        ({"": "S, M"}, "Name the option"),
        (
            {"Size": ", ".join(str(i) for i in range(20)), "Colour": ", ".join(str(i) for i in range(20))},
            "400",
        ),
    ],
)
async def test_bad_options_are_refused_with_a_message(
    ctx: AppContext, staff_client: StaffClientFactory, options: dict[str, str], message: str
) -> None:
    admin = await staff_client("admin")
    product_id = await make_product(ctx, "Mine", [plain_variant("MINE-1", "5.00")])
    refused = await _build(admin, product_id, options)
    assert refused.status_code == 422
    assert message in refused.text
    assert len((await _detail(ctx, product_id)).variants) == 1


async def test_support_staff_get_403(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    product_id = await make_product(ctx, "Mine", [plain_variant("MINE-1", "5.00")])
    support = await staff_client("support")
    assert (await support.get(f"/admin/products/{product_id}/variants")).status_code == 403
    page = await support.get("/admin")
    token = csrf_of(page.text)
    posted = await support.post(
        f"/admin/products/{product_id}/variants/options",
        data={"csrf_token": token, "option_name.0": "Size", "option_values.0": "S, M", "new_price": "1"},
    )
    assert posted.status_code == 403
    assert len((await _detail(ctx, product_id)).variants) == 1


async def test_an_unknown_product_is_404(staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    assert (await admin.get("/admin/products/987654/variants")).status_code == 404


async def test_an_option_goes_once_one_value_is_left(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    product_id = await _tee(ctx, admin)
    refused = await _build(admin, product_id, {"Size": "S, M, L, XL"})
    assert refused.status_code == 422
    assert "first remove all but one of its values" in refused.text
    assert len((await _detail(ctx, product_id)).variants) == 8
    asked = await _build(admin, product_id, {"Size": "S, M, L, XL", "Colour": "Navy"})
    assert asked.status_code == 200
    confirm = form_of(asked.text, f"/admin/products/{product_id}/variants/options")
    assert (
        await admin.post(f"/admin/products/{product_id}/variants/options", data=confirm)
    ).status_code == 303
    dropped = await _build(admin, product_id, {"Size": "S, M, L, XL"})
    assert dropped.status_code == 303
    detail = await _detail(ctx, product_id)
    assert [v.options for v in detail.variants] == [{"size": s} for s in ("S", "M", "L", "XL")]
    assert [v.name for v in detail.variants] == [f"Classic Tee {s}" for s in ("S", "M", "L", "XL")]


async def test_a_product_without_variants_gets_its_grid_from_the_builder(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    product_id = await make_product(ctx, "Bare Mug", [], status="draft")
    page = await admin.get(f"/admin/products/{product_id}/variants")
    assert "This product has no variant yet" in page.text
    no_price = await _build(admin, product_id, {"Colour": "White, Black"}, new_price="")
    assert no_price.status_code == 422
    assert "Give a price for the new variants." in no_price.text
    made = await _build(admin, product_id, {"Colour": "White, Black"}, new_price="8.00")
    assert made.status_code == 303
    detail = await _detail(ctx, product_id)
    assert [(v.sku, v.price, v.is_default) for v in detail.variants] == [
        ("BARE-MUG-WHITE", "8.00", True),
        ("BARE-MUG-BLACK", "8.00", False),
    ]


async def test_each_changed_variant_is_audited_from_old_to_new(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    product_id = await _tee(ctx, admin)
    url = f"/admin/products/{product_id}/variants"
    fields = form_of((await admin.get(url)).text, url)
    first, second, *_ = rows_of(fields)
    fields |= {f"price.{first}": "21.50", "default": str(second)}
    fields.pop(f"active.{first}")  # unticked
    assert (await admin.post(url, data=fields)).status_code == 303
    async with ctx.db.session() as session:
        changed = await audit.for_object(session, "variant", first)
        untouched = await audit.for_object(session, "variant", rows_of(fields)[5])
        made_default = await audit.for_object(session, "variant", second)
    assert changed[0].action == "variant.updated"
    assert changed[0].actor_email == admin.email
    assert changed[0].changes == {
        "price_minor": [1900, 2150],
        "is_active": [True, False],
        "is_default": [True, False],
    }
    assert made_default[0].changes == {"is_default": [False, True]}
    assert [entry.action for entry in untouched] == ["variant.created"]


async def test_the_grid_page_costs_the_same_statements_for_8_and_100_variants(
    ctx: AppContext, engine: AsyncEngine, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    small = await _tee(ctx, admin)
    big = await make_product(ctx, "Big Tee", [plain_variant("BIG", "10.00")])
    sizes, colours = ", ".join(f"S{i}" for i in range(10)), ", ".join(f"C{i}" for i in range(10))
    assert (await _build(admin, big, {"Size": sizes, "Colour": colours})).status_code == 303
    counts = []
    for product_id in (small, big):
        with count_statements(engine) as statements:
            page = await admin.get(f"/admin/products/{product_id}/variants")
        assert page.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 4, counts
