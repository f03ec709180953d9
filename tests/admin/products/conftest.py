"""Helpers of the back-office product tests: a small catalog written straight through the models, and
readers of the list page's HTML."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from emporium.audit.models import AuditEntry
from emporium.catalog.models import Brand, Category, Product, ProductVariant
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from tests.inventory.factory import make_brand, make_category, make_product

ROW_NAME = re.compile(r'<td><a href="/admin/products/(\d+)">([^<]*)</a></td>')


def listed(html: str) -> list[str]:
    """The product names of a list page, in the order shown."""
    return [name for _, name in ROW_NAME.findall(html)]


def next_link(html: str) -> str | None:
    found = re.search(r'<a class="button" href="([^"]+)" rel="next">', html)
    return found.group(1).replace("&amp;", "&") if found else None


@dataclass
class Shelf:
    """Seven products: two categories (one a child of the other), two brands, each status and stock state."""

    clothes: Category
    shirts: Category
    toys: Category
    acme: Brand
    globex: Brand
    ids: dict[str, int]


async def shelf(ctx: AppContext) -> Shelf:
    async with ctx.db.session() as session:
        clothes = await make_category(session, "Clothes")
        shirts = await make_category(session, "Shirts", clothes)
        toys = await make_category(session, "Toys")
        acme, globex = await make_brand(session, "Acme"), await make_brand(session, "Globex")
        specs = [
            ("Alpha shirt", shirts, acme, "active", ("12.00",), 10, False),
            ("Bravo coat", clothes, globex, "active", ("80.00", "95.00"), 3, True),
            ("Charlie kite", toys, acme, "draft", ("5.50",), 0, False),
            ("Delta ball", toys, None, "archived", ("3.00",), 50, False),
            ("Echo shirt", shirts, globex, "active", ("25.00",), 1, True),
            ("Foxtrot yo-yo", toys, acme, "active", ("2.25",), 7, False),
            ("Golf scarf", None, None, "draft", ("15.00",), 2, False),
        ]
        ids: dict[str, int] = {}
        start = utcnow() - timedelta(days=1)
        for i, (name, category, brand, status, prices, on_hand, featured) in enumerate(specs):
            made = await make_product(
                session, name, category=category, brand=brand, status=status, prices=prices, on_hand=on_hand
            )
            made.product.is_featured = featured
            made.product.created_at = start + timedelta(minutes=i)
            made.variants[0].sku = f"{name.split()[0].upper()}-1"
            ids[name] = made.product.id
            if name == "Echo shirt":
                made.pools[0].low_stock_threshold = 2
        await session.flush()
        return Shelf(clothes, shirts, toys, acme, globex, ids)


async def audit_count(ctx: AppContext, action: str) -> int:
    async with ctx.db.session() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
            )
            or 0
        )


async def prices_of(ctx: AppContext, product_id: int) -> list[tuple[int, int | None]]:
    async with ctx.db.session() as session:
        rows = await session.execute(
            select(ProductVariant.price_minor, ProductVariant.compare_at_minor)
            .where(ProductVariant.product_id == product_id)
            .order_by(ProductVariant.position, ProductVariant.id)
        )
        return [(price, compare) for price, compare in rows.all()]


async def product_row(ctx: AppContext, product_id: int) -> Product:
    async with ctx.db.session() as session:
        product = await session.get(Product, product_id)
        assert product is not None
        session.expunge(product)
        return product
