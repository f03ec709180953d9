"""The demo shop's catalog: believable products in a category tree, generated, never downloaded.

``load_demo_catalog`` inserts the curated set once (about 170 products in 8 departments: apparel in sizes
and colours, electronics, books, home, the sweet shop whose boxes share one gram pool, ...), some of it low
on stock or sold out. ``bulk_plan`` and ``insert_products`` add bulk products for benchmarks in
batches (COPY on PostgreSQL).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.csv.rows import slugify
from emporium.catalog.models import Brand, Category, Product, ProductStatus, ProductTag, ProductVariant
from emporium.catalog.search.repository import deferred_indexing, index_products
from emporium.core import changes
from emporium.core.db import utcnow
from emporium.core.money import to_minor
from emporium.inventory.models import StockPool, StockUnit

Progress = Callable[[int], None]

DEPARTMENTS: dict[str, dict[str, list[str]]] = {
    "Apparel": {
        "T-Shirts": [
            "Classic Crew T-Shirt",
            "Organic Cotton Tee",
            "Striped Breton Tee",
            "Graphic Mountain Tee",
            "Pocket V-Neck Tee",
            "Heavyweight Box Tee",
            "Linen Blend Tee",
            "Retro Ringer Tee",
        ],
        "Hoodies": [
            "Fleece Pullover Hoodie",
            "Zip-Up Hoodie",
            "Recycled Terry Hoodie",
            "Oversized Hoodie",
            "Lightweight Running Hoodie",
            "Sherpa Lined Hoodie",
            "Colour Block Hoodie",
        ],
        "Socks": [
            "Merino Hiking Socks",
            "Bamboo Ankle Socks",
            "Cushioned Sport Socks",
            "Wool Winter Socks",
            "Patterned Dress Socks",
            "Compression Socks",
            "No-Show Socks",
            "Cotton Crew Socks 3-Pack",
        ],
    },
    "Electronics": {
        "Headphones": [
            "Wireless Over-Ear Headphones",
            "Noise Cancelling Earbuds",
            "Studio Monitor Headphones",
            "Kids Volume-Limited Headphones",
            "Bone Conduction Headset",
            "Gaming Headset",
            "Open-Back Headphones",
            "Sport Earbuds",
        ],
        "Chargers & Cables": [
            "65 W USB-C Charger",
            "Braided USB-C Cable",
            "Wireless Charging Pad",
            "Magnetic Power Bank",
            "Travel Adapter",
            "Lightning to USB-C Cable",
            "Car Charger Dual Port",
        ],
        "Speakers": [
            "Portable Bluetooth Speaker",
            "Smart Home Speaker",
            "Waterproof Shower Speaker",
            "Bookshelf Speakers",
            "Soundbar Compact",
            "Party Speaker with Lights",
            "Desk Speakers USB",
        ],
    },
    "Books": {
        "Fiction": [
            "The Lighthouse Keeper",
            "Salt and Silver",
            "A Map of Quiet Places",
            "The Last Orchard",
            "Winter in Lisbon",
            "The Glass Archive",
            "Paper Boats",
            "Night Train to Udaipur",
        ],
        "Cooking": [
            "The Everyday Curry Book",
            "Bread at Home",
            "Sweet Kitchen: Indian Desserts",
            "Chocolate Every Way",
            "Weeknight Vegetables",
            "The Spice Pantry",
            "One Pan Dinners",
        ],
        "Science": [
            "A Short History of Light",
            "The Secret Life of Soil",
            "Numbers in Nature",
            "How Rivers Work",
            "The Patient Universe",
            "Tiny Engines of Life",
            "The Weather Makers",
        ],
    },
    "Home & Kitchen": {
        "Cookware": [
            "Cast Iron Skillet",
            "Stainless Steel Saucepan",
            "Non-Stick Frying Pan",
            "Dutch Oven",
            "Carbon Steel Wok",
            "Pressure Cooker 5 L",
            "Ceramic Baking Dish",
            "Chef Knife 20 cm",
        ],
        "Decor": [
            "Hand-Woven Cushion Cover",
            "Brass Table Lamp",
            "Terracotta Planter",
            "Linen Table Runner",
            "Framed Botanical Print",
            "Scented Soy Candle",
            "Jute Area Rug",
        ],
        "Storage": [
            "Glass Spice Jars Set",
            "Bamboo Drawer Organiser",
            "Stackable Pantry Bins",
            "Airtight Coffee Canister",
            "Under-Bed Storage Box",
            "Woven Laundry Basket",
            "Wall Shelf Oak",
        ],
    },
    "Sweet Shop": {
        "Mithai": [
            "Gulab Jamun",
            "Kaju Katli",
            "Rasgulla",
            "Motichoor Ladoo",
            "Soan Papdi",
            "Milk Peda",
            "Besan Barfi",
            "Jalebi",
            "Rasmalai",
            "Coconut Barfi",
            "Kalakand",
        ],
        "Chocolates": [
            "Dark Chocolate Truffles",
            "Milk Chocolate Bar",
            "Hazelnut Chocolate Pralines",
            "Chocolate Coated Almonds",
            "White Chocolate Buttons",
            "Sea Salt Caramel Chocolate",
            "Chilli Dark Chocolate",
        ],
        "Dry Fruits": [
            "Roasted Cashews",
            "California Almonds",
            "Medjool Dates",
            "Pistachios Salted",
            "Mixed Dry Fruit Box",
            "Dried Apricots",
            "Walnut Kernels",
        ],
    },
    "Beauty": {
        "Skincare": [
            "Hydrating Face Serum",
            "Mineral Sunscreen SPF 50",
            "Gentle Foaming Cleanser",
            "Night Repair Cream",
            "Aloe Vera Gel",
            "Vitamin C Brightening Serum",
            "Rose Water Toner",
        ],
        "Hair Care": [
            "Argan Oil Shampoo",
            "Coconut Hair Oil",
            "Repair Conditioner",
            "Wooden Detangling Comb",
            "Herbal Hair Mask",
            "Dry Shampoo Spray",
            "Silk Hair Scrunchies",
        ],
    },
    "Sports & Outdoors": {
        "Yoga": [
            "Cork Yoga Mat",
            "Yoga Block Pair",
            "Cotton Yoga Strap",
            "Meditation Cushion",
            "Travel Yoga Mat",
            "Yoga Wheel",
            "Yoga Bolster",
        ],
        "Camping": [
            "Two-Person Tent",
            "Down Sleeping Bag",
            "Headlamp 300 Lumen",
            "Insulated Water Bottle",
            "Camp Stove",
            "Folding Camp Chair",
            "Trekking Poles",
        ],
    },
    "Toys & Games": {
        "Board Games": [
            "Spice Route Board Game",
            "Family Word Game",
            "Cooperative Island Rescue",
            "Classic Chess Set",
            "Tile Laying Garden Game",
            "Quick Dice Duel",
            "Monsoon Trading Card Game",
        ],
        "Puzzles": [
            "1000 Piece World Map Puzzle",
            "Wooden Brain Teasers",
            "Kids Animal Floor Puzzle",
            "3D Lighthouse Puzzle",
            "Jigsaw Night Sky 500",
            "Tangram Set",
            "Speed Cube 4x4",
        ],
    },
}

BRANDS = {
    "Apparel": ["Northwind", "Loom & Line", "Fieldday"],
    "Electronics": ["Voltaic", "Sonora", "Kestrel Audio"],
    "Books": ["Lantern Press", "Quarto House"],
    "Home & Kitchen": ["Hearth & Co", "Terra Home"],
    "Sweet Shop": ["Mithas", "Cacao Lane"],
    "Beauty": ["Verdant", "Saffron Skin"],
    "Sports & Outdoors": ["Summit Gear", "Prana Move"],
    "Toys & Games": ["Playwright Games", "Tinker Tree"],
}

SIZES = ["S", "M", "L", "XL"]
COLOURS = ["Black", "White", "Navy", "Forest Green", "Rust"]
BOXES = [
    (250, Decimal("0.27")),
    (500, Decimal("0.52")),
    (1000, Decimal("1")),
]  # grams, share of the 1 kg price
PRICE_RANGES = {
    "Apparel": (12, 70),
    "Electronics": (15, 300),
    "Books": (9, 35),
    "Home & Kitchen": (10, 120),
    "Sweet Shop": (8, 40),
    "Beauty": (6, 45),
    "Sports & Outdoors": (12, 260),
    "Toys & Games": (9, 60),
}


@dataclass
class PlannedVariant:
    sku: str
    name: str
    options: dict[str, str]
    price: Decimal
    draw: int
    weight_grams: int | None


@dataclass
class PlannedProduct:
    name: str
    slug: str
    department: str
    category: str
    brand: str
    price: Decimal
    description_html: str
    tags: list[str]
    featured: bool
    pool_unit: str
    shared_pool: bool
    on_hand: int
    threshold: int
    variants: list[PlannedVariant] = field(default_factory=list)


def _tags(index: int, department: str, category: str) -> list[str]:
    tags = [slugify(category), slugify(department)]
    if index % 5 == 0:
        tags.append("bestseller")
    if index % 9 == 0:
        tags.append("new")
    return tags


def _stock(sold_out: bool, low_stock: bool, low: int, draw: Callable[[], int]) -> int:
    """On hand for a product: none when sold out, ``low`` when running low, else ``draw()``."""
    if sold_out:
        return 0
    return low if low_stock else draw()


def _plan_boxes(
    planned: PlannedProduct, rng: random.Random, sku_base: str, sold_out: bool, low: bool
) -> None:
    """Seed 003: boxes of one sweet share one pool counted in grams."""
    planned.pool_unit, planned.shared_pool, planned.threshold = StockUnit.GRAM, True, 2000
    planned.on_hand = _stock(sold_out, low, 1500, lambda: rng.randint(8, 40) * 1000)
    price = planned.price
    for grams, share in BOXES:
        label = "1 kg" if grams == 1000 else f"{grams} g"
        planned.variants.append(
            PlannedVariant(
                f"{sku_base}-{grams}G",
                f"{planned.name} {label}",
                {"weight": label},
                (price * 4 * share).quantize(price),
                grams,
                grams,
            )
        )


def _plan_apparel(
    planned: PlannedProduct, rng: random.Random, sku_base: str, sold_out: bool, low: bool
) -> None:
    for colour in rng.sample(COLOURS, 2):
        for size in SIZES:
            planned.variants.append(
                PlannedVariant(
                    f"{sku_base}-{slugify(colour)[:3].upper()}-{size}",
                    f"{planned.name} {colour} {size}",
                    {"colour": colour, "size": size},
                    planned.price,
                    1,
                    250,
                )
            )
    planned.on_hand = _stock(sold_out, low, 2, lambda: rng.randint(5, 60))


def _plan_single(
    planned: PlannedProduct, rng: random.Random, sku_base: str, sold_out: bool, low: bool
) -> None:
    weight = rng.randint(100, 3000)
    planned.variants.append(PlannedVariant(sku_base, planned.name, {}, planned.price, 1, weight))
    planned.on_hand = _stock(sold_out, low, 2, lambda: rng.randint(10, 250))


def _plan(
    index: int, department: str, category: str, name: str, suffix: str, currency: str
) -> PlannedProduct:
    rng = random.Random(index * 7919 + 17)  # noqa: S311 - demo data, not security
    low, high = PRICE_RANGES[department]
    price = Decimal(rng.randint(low * 100, high * 100)) / 100
    price = price.quantize(Decimal("0.01")) if currency != "JPY" else price.quantize(Decimal("1"))
    full_name = f"{name}{suffix}"
    sku_base = f"{slugify(category)[:6].upper()}-{index:06d}"
    brand = BRANDS[department][index % len(BRANDS[department])]
    description = (
        f"<p>{escape(full_name)} from {escape(brand)}, part of our {escape(category.lower())} range.</p>"
        f"<ul><li>Chosen for everyday use</li><li>Ships in recyclable packaging</li></ul>"
    )
    planned = PlannedProduct(
        name=full_name,
        slug=slugify(full_name),
        department=department,
        category=category,
        brand=brand,
        price=price,
        description_html=description,
        tags=_tags(index, department, category),
        featured=index % 11 == 0,
        pool_unit=StockUnit.PIECE,
        shared_pool=False,
        on_hand=0,
        threshold=3,
    )
    # Every 13th product is sold out and every 7th runs low, so the shop shows both states.
    sold_out, low_stock = index % 13 == 5, index % 7 == 3
    if department == "Sweet Shop" and category != "Chocolates":
        _plan_boxes(planned, rng, sku_base, sold_out, low_stock)
    elif department == "Apparel":
        _plan_apparel(planned, rng, sku_base, sold_out, low_stock)
    else:
        _plan_single(planned, rng, sku_base, sold_out, low_stock)
    return planned


def curated_plan(currency: str) -> list[PlannedProduct]:
    plan: list[PlannedProduct] = []
    for department, categories in DEPARTMENTS.items():
        for category, names in categories.items():
            for name in names:
                plan.append(_plan(len(plan), department, category, name, "", currency))
    return plan


def bulk_plan(start: int, count: int, currency: str) -> Iterator[PlannedProduct]:
    """Products for benchmarks: the curated names again, numbered so every slug and SKU stays unique."""
    flat = [(d, c, n) for d, cats in DEPARTMENTS.items() for c, names in cats.items() for n in names]
    for index in range(start, start + count):
        department, category, name = flat[index % len(flat)]
        yield _plan(index, department, category, name, f" No. {index}", currency)


async def _ensure_taxonomy(session: AsyncSession) -> tuple[dict[str, int], dict[str, int]]:
    """Categories (two levels) and brands, created if missing; returns name -> id maps."""
    categories = {c.name: c for c in (await session.execute(select(Category))).scalars()}
    for position, (department, children) in enumerate(DEPARTMENTS.items()):
        parent = categories.get(department)
        if parent is None:
            parent = Category(name=department, slug=slugify(department), position=position, path="/")
            session.add(parent)
            await session.flush()
            parent.path = f"/{parent.id}/"
            categories[department] = parent
        for child_position, child_name in enumerate(children):
            if child_name not in categories:
                child = Category(
                    name=child_name,
                    slug=slugify(child_name),
                    parent_id=parent.id,
                    position=child_position,
                    path=parent.path,
                )
                session.add(child)
                await session.flush()
                child.path = f"{parent.path}{child.id}/"
                categories[child_name] = child
    brands = {b.name: b for b in (await session.execute(select(Brand))).scalars()}
    for name in (b for names in BRANDS.values() for b in names):
        if name not in brands:
            brands[name] = Brand(name=name, slug=slugify(name))
            session.add(brands[name])
    await session.flush()
    return {n: c.id for n, c in categories.items()}, {n: b.id for n, b in brands.items()}


# Products per batch of the bulk generator: one COPY (PostgreSQL) or multi-row INSERT per table, and one
# step of the progress bar.
BATCH_SIZE = 1000

_PRODUCT_COLUMNS = (
    "name",
    "slug",
    "description_html",
    "brand_id",
    "category_id",
    "status",
    "is_featured",
    "currency",
    "seo_title",
    "seo_description",
    "price_min_minor",
    "price_max_minor",
    "rating_average",
    "rating_count",
    "sold_count",
    "created_at",
    "updated_at",
)
_POOL_COLUMNS = ("name", "unit", "on_hand", "reserved", "low_stock_threshold", "created_at", "updated_at")
_VARIANT_COLUMNS = (
    "product_id",
    "sku",
    "name",
    "options",
    "price_minor",
    "compare_at_minor",
    "is_active",
    "is_default",
    "position",
    "pool_id",
    "draw_per_unit",
    "weight_grams",
    "created_at",
    "updated_at",
)
_TAG_COLUMNS = ("product_id", "tag")

# One statement reserves the ids of a batch's products and pools, so the rows can be sent by COPY.
_RESERVE_IDS = text(
    "SELECT ARRAY(SELECT nextval(pg_get_serial_sequence('products', 'id')) "
    "FROM generate_series(1, :products)), "
    "ARRAY(SELECT nextval(pg_get_serial_sequence('stock_pools', 'id')) FROM generate_series(1, :pools))"
)


async def insert_products(
    session: AsyncSession,
    plan: list[PlannedProduct],
    currency: str,
    progress: Progress | None = None,
) -> list[int]:
    """Insert planned products with their pools, variants and tags in batches, in the caller's
    transaction. On PostgreSQL the rows go by COPY and the search index is built once for the whole
    plan at the end (still inside the transaction, so a failure leaves nothing half-indexed)."""
    category_ids, brand_ids = await _ensure_taxonomy(session)
    product_ids: list[int] = []
    # Products and then their tags would each trigger the indexing: do it once for the plan instead.
    async with deferred_indexing(session) as deferred:
        for start in range(0, len(plan), BATCH_SIZE):
            rows = _batch_rows(plan[start : start + BATCH_SIZE], currency, category_ids, brand_ids)
            if deferred:
                product_ids += await _copy_batch(session, rows)
            else:
                product_ids += await _insert_batch(session, rows)
            if progress is not None:
                progress(min(BATCH_SIZE, len(plan) - start))
        if deferred and product_ids:
            await index_products(session, product_ids)
    return product_ids


@dataclass
class _BatchRows:
    """One batch as plain tuples in the column orders above, without the ids the database assigns:
    ``variants[i]`` and ``tags[i]`` belong to ``products[i]``; ``pool_of[i][j]`` is the index into
    ``pools`` of variant j of product i."""

    products: list[tuple[Any, ...]]
    pools: list[tuple[Any, ...]]
    variants: list[list[tuple[Any, ...]]]
    pool_of: list[list[int]]
    tags: list[list[str]]


def _batch_rows(
    batch: list[PlannedProduct], currency: str, category_ids: dict[str, int], brand_ids: dict[str, int]
) -> _BatchRows:
    now = utcnow()
    active, zero = ProductStatus.ACTIVE.value, Decimal("0")
    rows = _BatchRows([], [], [], [], [])
    for p in batch:
        prices = [to_minor(v.price, currency) for v in p.variants]
        rows.products.append(
            (
                p.name,
                p.slug,
                p.description_html,
                brand_ids[p.brand],
                category_ids[p.category],
                active,
                p.featured,
                currency,
                p.name,
                f"Buy {p.name} online.",
                min(prices),
                max(prices),
                zero,
                0,
                0,
                now,
                now,
            )
        )
        # One pool per product when its variants share stock (grams), else one per variant.
        pool = (p.name[:200], str(p.pool_unit), p.on_hand, 0, p.threshold, now, now)
        first = len(rows.pools)
        if p.shared_pool:
            rows.pools.append(pool)
            rows.pool_of.append([first] * len(p.variants))
        else:
            rows.pools.extend([pool] * len(p.variants))
            rows.pool_of.append(list(range(first, first + len(p.variants))))
        rows.variants.append(
            [
                (
                    v.sku,
                    v.name[:200],
                    v.options,
                    price,
                    None,
                    True,
                    position == 0,
                    position,
                    v.draw,
                    v.weight_grams,
                    now,
                    now,
                )
                for position, (v, price) in enumerate(zip(p.variants, prices, strict=True))
            ]
        )
        rows.tags.append(list(dict.fromkeys(p.tags)))
    return rows


def _linked(
    rows: _BatchRows, product_ids: list[int], pool_ids: list[int], options: Callable[[Any], Any]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Variant and tag rows with their product and pool ids filled in (``options`` encodes the JSON)."""
    variants: list[tuple[Any, ...]] = []
    tags: list[tuple[Any, ...]] = []
    for product_id, product_variants, pools, product_tags in zip(
        product_ids, rows.variants, rows.pool_of, rows.tags, strict=True
    ):
        for v, pool in zip(product_variants, pools, strict=True):
            variants.append((product_id, v[0], v[1], options(v[2]), *v[3:8], pool_ids[pool], *v[8:]))
        tags.extend((product_id, tag) for tag in product_tags)
    return variants, tags


async def _copy_batch(session: AsyncSession, rows: _BatchRows) -> list[int]:
    """PostgreSQL: ids reserved from the sequences, then one COPY per table through the driver's
    connection (the session's, so in its transaction). Skips SQLAlchemy's per-row parameter handling."""
    reserved = (
        await session.execute(_RESERVE_IDS, {"products": len(rows.products), "pools": len(rows.pools)})
    ).one()
    product_ids, pool_ids = list(reserved[0]), list(reserved[1])
    variants, tags = _linked(rows, product_ids, pool_ids, json.dumps)
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    products = [(i, *row) for i, row in zip(product_ids, rows.products, strict=True)]
    pools = [(i, *row) for i, row in zip(pool_ids, rows.pools, strict=True)]
    await driver.copy_records_to_table("products", records=products, columns=("id", *_PRODUCT_COLUMNS))
    await driver.copy_records_to_table("stock_pools", records=pools, columns=("id", *_POOL_COLUMNS))
    await driver.copy_records_to_table("product_variants", records=variants, columns=_VARIANT_COLUMNS)
    await driver.copy_records_to_table("product_tags", records=tags, columns=_TAG_COLUMNS)
    # Sent past the session, so the catalog's change stamp has to be told (cached pages go stale).
    changes.wrote(session.sync_session, ("products", "stock_pools", "product_variants", "product_tags"))
    return product_ids


async def _insert_batch(session: AsyncSession, rows: _BatchRows) -> list[int]:
    """Other databases (SQLite): multi-row INSERTs whose RETURNING gives the ids."""

    def dicts(columns: tuple[str, ...], values: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        return [dict(zip(columns, row, strict=True)) for row in values]

    async def returning_ids(
        model: type[Product] | type[StockPool], columns: tuple[str, ...], values: list[tuple[Any, ...]]
    ) -> list[int]:
        statement = insert(model).returning(model.id, sort_by_parameter_order=True)
        return list((await session.execute(statement, dicts(columns, values))).scalars())

    product_ids = await returning_ids(Product, _PRODUCT_COLUMNS, rows.products)
    pool_ids = await returning_ids(StockPool, _POOL_COLUMNS, rows.pools)
    variants, tags = _linked(rows, product_ids, pool_ids, lambda options: options)
    await session.execute(insert(ProductVariant), dicts(_VARIANT_COLUMNS, variants))
    await session.execute(insert(ProductTag), dicts(_TAG_COLUMNS, tags))
    return product_ids


async def refresh_statistics(session: AsyncSession) -> None:
    """PostgreSQL: ANALYZE the tables a bulk load filled. Until autovacuum gets to them the planner
    thinks they are nearly empty: a deep product page took 40 ms instead of 7 ms (BENCHMARKS.md)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("ANALYZE products, product_variants, stock_pools, product_tags, product_search")
        )


async def product_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Product))).scalar_one())
