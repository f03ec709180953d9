"""The demo shop's catalog: believable products in a category tree, generated, never downloaded.

``load_demo_catalog`` inserts the curated set once (about 170 products in 8 departments: apparel in sizes
and colours, electronics, books, home, the sweet shop whose boxes share one gram pool, ...), some of it low
on stock or sold out. ``generate_products`` adds bulk products for benchmarks with batched inserts.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import Brand, Category, Product, ProductStatus, ProductTag, ProductVariant
from emporium.catalog.search_index import deferred_indexing, index_products
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


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


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


def _plan(
    index: int, department: str, category: str, name: str, suffix: str, currency: str
) -> PlannedProduct:
    rng = random.Random(index * 7919 + 17)  # noqa: S311 - demo data, not security
    low, high = PRICE_RANGES[department]
    price = Decimal(rng.randint(low * 100, high * 100)) / 100
    price = price.quantize(Decimal("0.01")) if currency != "JPY" else price.quantize(Decimal("1"))
    full_name = f"{name}{suffix}"
    slug = slugify(full_name)
    sku_base = f"{slugify(category)[:6].upper()}-{index:06d}"
    brand = BRANDS[department][index % len(BRANDS[department])]
    tags = [slugify(category), slugify(department)]
    if index % 5 == 0:
        tags.append("bestseller")
    if index % 9 == 0:
        tags.append("new")
    description = (
        f"<p>{escape(full_name)} from {escape(brand)}, part of our {escape(category.lower())} range.</p>"
        f"<ul><li>Chosen for everyday use</li><li>Ships in recyclable packaging</li></ul>"
    )
    # Every 13th product is sold out and every 7th runs low, so the shop shows both states.
    sold_out = index % 13 == 5
    low_stock = index % 7 == 3
    planned = PlannedProduct(
        name=full_name,
        slug=slug,
        department=department,
        category=category,
        brand=brand,
        price=price,
        description_html=description,
        tags=tags,
        featured=index % 11 == 0,
        pool_unit=StockUnit.PIECE,
        shared_pool=False,
        on_hand=0,
        threshold=3,
    )
    if department == "Sweet Shop" and category != "Chocolates":
        # Seed 003: boxes of one sweet share one pool counted in grams.
        planned.pool_unit, planned.shared_pool, planned.threshold = StockUnit.GRAM, True, 2000
        planned.on_hand = 0 if sold_out else (1500 if low_stock else rng.randint(8, 40) * 1000)
        for grams, share in BOXES:
            label = "1 kg" if grams == 1000 else f"{grams} g"
            planned.variants.append(
                PlannedVariant(
                    f"{sku_base}-{grams}G",
                    f"{full_name} {label}",
                    {"weight": label},
                    (price * 4 * share).quantize(price),
                    grams,
                    grams,
                )
            )
    elif department == "Apparel":
        colours = rng.sample(COLOURS, 2)
        for colour in colours:
            for size in SIZES:
                planned.variants.append(
                    PlannedVariant(
                        f"{sku_base}-{slugify(colour)[:3].upper()}-{size}",
                        f"{full_name} {colour} {size}",
                        {"colour": colour, "size": size},
                        price,
                        1,
                        250,
                    )
                )
        planned.on_hand = 0 if sold_out else (2 if low_stock else rng.randint(5, 60))
    else:
        planned.variants.append(PlannedVariant(sku_base, full_name, {}, price, 1, rng.randint(100, 3000)))
        planned.on_hand = 0 if sold_out else (2 if low_stock else rng.randint(10, 250))
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


# Rows per insert statement of the bulk generator.
BATCH_SIZE = 500


async def insert_products(
    session: AsyncSession, plan: list[PlannedProduct], currency: str, progress: Progress | None = None
) -> list[int]:
    """Insert planned products with their pools, variants and tags in batched statements."""
    category_ids, brand_ids = await _ensure_taxonomy(session)
    product_ids: list[int] = []
    # Products and then their tags would each trigger the indexing: do it once per batch instead.
    async with deferred_indexing(session) as deferred:
        for start in range(0, len(plan), BATCH_SIZE):
            product_ids += await _insert_batch(
                session, plan[start : start + BATCH_SIZE], currency, category_ids, brand_ids, deferred
            )
            if progress is not None:
                progress(min(BATCH_SIZE, len(plan) - start))
    return product_ids


async def _insert_batch(
    session: AsyncSession,
    batch: list[PlannedProduct],
    currency: str,
    category_ids: dict[str, int],
    brand_ids: dict[str, int],
    index_now: bool,
) -> list[int]:
    product_rows: list[dict[str, Any]] = []
    for p in batch:
        prices = [to_minor(v.price, currency) for v in p.variants]
        product_rows.append(
            {
                "name": p.name,
                "slug": p.slug,
                "description_html": p.description_html,
                "brand_id": brand_ids[p.brand],
                "category_id": category_ids[p.category],
                "status": ProductStatus.ACTIVE,
                "is_featured": p.featured,
                "currency": currency,
                "seo_title": p.name,
                "seo_description": f"Buy {p.name} online.",
                "price_min_minor": min(prices),
                "price_max_minor": max(prices),
                "rating_average": Decimal("0"),
                "rating_count": 0,
                "sold_count": 0,
            }
        )
    ids = list(
        (
            await session.execute(
                insert(Product).returning(Product.id, sort_by_parameter_order=True), product_rows
            )
        ).scalars()
    )
    # One pool per product when its variants share stock (grams), else one per variant.
    pool_rows: list[dict[str, Any]] = []
    for p in batch:
        count = 1 if p.shared_pool else len(p.variants)
        for _ in range(count):
            pool_rows.append(
                {
                    "name": p.name[:200],
                    "unit": p.pool_unit,
                    "on_hand": p.on_hand,
                    "reserved": 0,
                    "low_stock_threshold": p.threshold,
                }
            )
    pool_ids = iter(
        list(
            (
                await session.execute(
                    insert(StockPool).returning(StockPool.id, sort_by_parameter_order=True), pool_rows
                )
            ).scalars()
        )
    )
    variant_rows: list[dict[str, Any]] = []
    tag_rows: list[dict[str, Any]] = []
    for product_id, p in zip(ids, batch, strict=True):
        shared = next(pool_ids) if p.shared_pool else None
        for position, v in enumerate(p.variants):
            variant_rows.append(
                {
                    "product_id": product_id,
                    "sku": v.sku,
                    "name": v.name[:200],
                    "options": v.options,
                    "price_minor": to_minor(v.price, currency),
                    "compare_at_minor": None,
                    "is_active": True,
                    "is_default": position == 0,
                    "position": position,
                    "pool_id": shared if shared is not None else next(pool_ids),
                    "draw_per_unit": v.draw,
                    "weight_grams": v.weight_grams,
                }
            )
        tag_rows.extend({"product_id": product_id, "tag": tag} for tag in dict.fromkeys(p.tags))
    await session.execute(insert(ProductVariant), variant_rows)
    await session.execute(insert(ProductTag), tag_rows)
    if index_now:
        await index_products(session, ids)
    return ids


async def product_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Product))).scalar_one())
