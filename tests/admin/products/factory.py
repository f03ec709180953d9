"""Products made through the catalog service, and the variant editor's form read back from its page, for
the variant and image tests of the back office."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

from emporium.catalog.schemas import ProductCreate, StockIn, VariantCreate
from emporium.catalog.service import catalog
from emporium.core.context import AppContext
from emporium.inventory.models import StockUnit

_INPUT = re.compile(r"<input\b([^>]*)>")
_SELECT = re.compile(r'<select\b[^>]*name="([^"]+)"[^>]*>(.*?)</select>', re.S)
_ATTR = re.compile(r'([a-z_-]+)(?:="([^"]*)")?')


async def make_product(
    ctx: AppContext,
    name: str,
    variants: list[VariantCreate] | None = None,
    status: str = "active",
) -> int:
    async with ctx.db.session() as session:
        product = await catalog.create_product(
            session,
            ctx,
            ProductCreate(name=name, status=status, variants=variants or []),  # type: ignore[arg-type]
            None,
        )
        return product.id


def plain_variant(sku: str, price: str = "20.00", on_hand: int = 0) -> VariantCreate:
    return VariantCreate(sku=sku, price=Decimal(price), stock=StockIn(on_hand=on_hand))


async def make_sweet(ctx: AppContext, grams_on_hand: int = 5000) -> tuple[int, list[int], int]:
    """A sweet sold in 250 g, 500 g and 1 kg boxes drawing from one pool counted in grams, as the demo
    shop models it: the product id, the variant ids and the pool id."""
    first = VariantCreate(
        sku="FUDGE-250G",
        name="Fudge 250 g",
        options={"weight": "250 g"},
        price=Decimal("4.00"),
        draw_per_unit=250,
        stock=StockIn(unit=StockUnit.GRAM, on_hand=grams_on_hand),
    )
    product_id = await make_product(ctx, "Fudge", [first])
    async with ctx.db.session() as session:
        detail = await catalog.product_detail(session, ctx, product_id=product_id, staff=True)
        pool_id = detail.variants[0].pool_id
        ids = [detail.variants[0].id]
        for grams, price in ((500, "7.50"), (1000, "14.00")):
            label = "1 kg" if grams == 1000 else f"{grams} g"
            made = await catalog.create_variant(
                session,
                product_id,
                VariantCreate(
                    sku=f"FUDGE-{grams}G",
                    name=f"Fudge {label}",
                    options={"weight": label},
                    price=Decimal(price),
                    draw_per_unit=grams,
                    pool_id=pool_id,
                    position=len(ids),
                ),
                None,
            )
            ids.append(made.id)
    return product_id, ids, pool_id


def form_of(html: str, action: str) -> dict[str, str]:
    """The fields a browser would send from the form posting to ``action`` (checked boxes and radios only,
    the selected option of each select)."""
    start = html.index(f'action="{action}"')
    end = html.index("</form>", start)
    body = html[start:end]
    fields: dict[str, str] = {}
    for attrs_text in _INPUT.findall(body):
        attrs = {k: unescape(v or "") for k, v in _ATTR.findall(attrs_text)}
        name = attrs.get("name")
        if not name:
            continue
        if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
            continue
        if attrs.get("type") == "file":
            continue
        fields[name] = attrs.get("value", "")
    for name, options in _SELECT.findall(body):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options) or re.search(
            r'<option value="([^"]*)"', options
        )
        if chosen:
            fields[name] = unescape(chosen.group(1))
    return fields


def rows_of(fields: dict[str, str]) -> list[int]:
    """The variant ids of the grid's rows, in the page's order."""
    return [int(key.split(".")[1]) for key in fields if key.startswith("sku.")]
