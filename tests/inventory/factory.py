"""Catalog rows made straight through the models, so these tests need no catalog API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.service import auth
from emporium.catalog.models import Brand, Category, Product, ProductTag, ProductVariant
from emporium.core.context import AppContext
from emporium.core.money import to_minor
from emporium.inventory.models import StockPool
from tests.support import STRONG_PASSWORD, bearer, data

_serial = count(1)


def slug_of(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split()) + f"-{next(_serial)}"


async def make_category(session: AsyncSession, name: str, parent: Category | None = None) -> Category:
    category = Category(name=name, slug=slug_of(name), parent_id=parent.id if parent else None, path="/")
    session.add(category)
    await session.flush()
    category.path = f"{parent.path if parent else '/'}{category.id}/"
    await session.flush()
    return category


async def make_brand(session: AsyncSession, name: str) -> Brand:
    brand = Brand(name=name, slug=slug_of(name))
    session.add(brand)
    await session.flush()
    return brand


async def make_pool(
    session: AsyncSession,
    name: str,
    *,
    unit: str = "pc",
    on_hand: int = 10,
    reserved: int = 0,
    threshold: int = 0,
) -> StockPool:
    pool = StockPool(name=name, unit=unit, on_hand=on_hand, reserved=reserved, low_stock_threshold=threshold)
    session.add(pool)
    await session.flush()
    return pool


@dataclass
class Made:
    product: Product
    pools: list[StockPool] = field(default_factory=list)
    variants: list[ProductVariant] = field(default_factory=list)


async def make_product(
    session: AsyncSession,
    name: str,
    *,
    category: Category | None = None,
    brand: Brand | None = None,
    tags: Sequence[str] = (),
    description: str = "",
    status: str = "active",
    prices: Sequence[str] = ("10.00",),
    on_hand: int = 10,
    reserved: int = 0,
    rating: str = "0",
    pool: StockPool | None = None,
    draws: Sequence[int] | None = None,
) -> Made:
    """A product with one variant per price; each variant gets its own pool unless ``pool`` is given
    (then variant i draws ``draws[i]`` from it)."""
    minors = [to_minor(Decimal(p), "USD") for p in prices]
    product = Product(
        name=name,
        slug=slug_of(name),
        description_html=description,
        brand_id=brand.id if brand else None,
        category_id=category.id if category else None,
        status=status,
        currency="USD",
        price_min_minor=min(minors),
        price_max_minor=max(minors),
        rating_average=Decimal(rating),
        rating_count=5 if rating != "0" else 0,
    )
    session.add(product)
    await session.flush()
    made = Made(product)
    for tag in tags:
        session.add(ProductTag(product_id=product.id, tag=tag))
    for i, minor in enumerate(minors):
        variant_pool = pool or await make_pool(session, f"{name} {i}", on_hand=on_hand, reserved=reserved)
        if variant_pool not in made.pools:
            made.pools.append(variant_pool)
        variant = ProductVariant(
            product_id=product.id,
            sku=f"SKU-{next(_serial)}",
            name=f"{name} #{i + 1}",
            options={},
            price_minor=minor,
            pool_id=variant_pool.id,
            draw_per_unit=draws[i] if draws else 1,
            is_default=i == 0,
            position=i,
        )
        session.add(variant)
        made.variants.append(variant)
    await session.flush()
    return made


async def staff_headers(
    client: httpx.AsyncClient, ctx: AppContext, email: str = "stock@example.com", role: str = "admin"
) -> dict[str, str]:
    """A staff user of ``role``, signed in through the API; its bearer header."""
    async with ctx.db.session() as session:
        await auth.create_user(session, ctx, email=email, password=STRONG_PASSWORD, role=role)
    tokens = data(await client.post("/api/v1/auth/login", json={"email": email, "password": STRONG_PASSWORD}))
    return bearer(str(tokens["access_token"]))
