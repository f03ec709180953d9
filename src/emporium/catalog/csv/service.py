"""CSV import and export of products and variants: one row per variant, products repeated by slug.

Import is all or nothing: every row is checked first and the report names each bad row and column; only a
file without errors is written, in one transaction. A dry run checks and counts, and writes nothing.
Rows that share a ``pool_key`` share one stock pool (the sweet shop's boxes drawing grams from one pool).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import Brand, Category, Product, ProductStatus, ProductTag, ProductVariant
from emporium.catalog.sanitize import sanitize_description
from emporium.core.money import DecimalAmount, MoneyError, from_minor, to_minor
from emporium.demo.catalog import slugify
from emporium.inventory.models import StockAdjustment, StockPool

COLUMNS = (
    "product_slug",
    "product_name",
    "description",
    "description_format",
    "category_slug",
    "brand",
    "tags",
    "status",
    "featured",
    "seo_title",
    "seo_description",
    "sku",
    "variant_name",
    "options",
    "price",
    "compare_at_price",
    "is_default",
    "pool_key",
    "stock_unit",
    "on_hand",
    "low_stock_threshold",
    "draw_per_unit",
    "weight_grams",
)
REQUIRED = ("product_slug", "sku", "price")
MAX_ROWS = 200_000
Progress = Callable[[int], None]

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Slug = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=220)
]


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and value.strip() == "" else value


class CsvRow(BaseModel):
    """One line of the file, validated. Blank cells are "not given"."""

    model_config = ConfigDict(extra="forbid")

    product_slug: Slug
    product_name: Short | None = None
    description: Annotated[str, StringConstraints(max_length=50_000)] | None = None
    description_format: Literal["markdown", "html"] = "markdown"
    category_slug: Slug | None = None
    brand: Short | None = None
    tags: Text | None = None
    status: Literal["draft", "active", "archived"] | None = None
    featured: bool | None = None
    seo_title: Short | None = None
    seo_description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    sku: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$"),
    ]
    variant_name: Short | None = None
    options: Text | None = None
    price: DecimalAmount
    compare_at_price: DecimalAmount | None = None
    is_default: bool | None = None
    pool_key: Short | None = None
    stock_unit: Literal["pc", "g"] = "pc"
    on_hand: Annotated[int, Field(ge=0, le=10**12)] | None = None
    low_stock_threshold: Annotated[int, Field(ge=0, le=10**12)] | None = None
    draw_per_unit: Annotated[int, Field(ge=1, le=10**9)] = 1
    weight_grams: Annotated[int, Field(ge=0, le=10**7)] | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blanks(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return _blank_to_none(value)

    @field_validator("description_format", "stock_unit", "draw_per_unit", mode="before")
    @classmethod
    def _defaults(cls, value: object, info: Any) -> object:
        if value is None:
            return {"description_format": "markdown", "stock_unit": "pc", "draw_per_unit": 1}[info.field_name]
        return value

    def option_map(self) -> dict[str, str]:
        """``size=M;colour=Red`` -> {"size": "M", "colour": "Red"}."""
        result: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in (self.options or "").split(";"))):
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ValueError(f"option {part!r} is not name=value")
            result[key.strip()[:50]] = value.strip()[:100]
        return result

    def tag_list(self) -> list[str]:
        return list(dict.fromkeys(slugify(t)[:60] for t in (self.tags or "").split(";") if slugify(t)))


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Parsed:
    row_number: int
    row: CsvRow
    options: dict[str, str]


def _read_rows(text: str, report: ImportReport) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing or not header:
        for name in unknown:
            report.errors.append(RowError(1, name, "unknown column"))
        for name in missing:
            report.errors.append(RowError(1, name, "required column is missing"))
        if not header:
            report.errors.append(RowError(1, "", "the file has no header row"))
        return []
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for number, raw in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                report.errors.append(RowError(number, "", f"more than {MAX_ROWS} rows; split the file"))
                break
            if None in raw:  # more cells than header columns
                report.errors.append(RowError(number, "", "the row has more cells than the header"))
                continue
            rows.append((number, {k: v for k, v in raw.items() if v is not None}))
    except csv.Error as exc:
        report.errors.append(RowError(reader.line_num, "", f"not valid CSV: {exc}"))
    return rows


def _validate(rows: list[tuple[int, dict[str, str]]], currency: str, report: ImportReport) -> list[_Parsed]:
    parsed: list[_Parsed] = []
    seen_skus: dict[str, int] = {}
    for number, raw in rows:
        try:
            row = CsvRow.model_validate(raw)
            options = row.option_map()
        except ValidationError as exc:
            for err in exc.errors():
                column = str(err["loc"][0]) if err["loc"] else ""
                report.errors.append(RowError(number, column, str(err["msg"]).removeprefix("Value error, ")))
            continue
        except ValueError as exc:
            report.errors.append(RowError(number, "options", str(exc)))
            continue
        for column, amount in (("price", row.price), ("compare_at_price", row.compare_at_price)):
            if amount is None:
                continue
            try:
                if amount < 0:
                    raise MoneyError("must not be negative")
                to_minor(amount, currency)
            except MoneyError as exc:
                report.errors.append(RowError(number, column, str(exc)))
        if row.sku.upper() in seen_skus:
            report.errors.append(
                RowError(number, "sku", f"repeats the SKU of row {seen_skus[row.sku.upper()]}")
            )
        seen_skus.setdefault(row.sku.upper(), number)
        parsed.append(_Parsed(number, row, options))
    return parsed


async def import_catalog(
    session: AsyncSession,
    text: str,
    *,
    currency: str,
    dry_run: bool,
    actor_user_id: int | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row; unless a dry run or any row is bad, write them all in the caller's transaction."""
    report = ImportReport(dry_run=dry_run)
    rows = _read_rows(text, report)
    report.rows = len(rows)
    parsed = _validate(rows, currency, report)
    if report.errors:
        return report
    categories = {c.slug: c for c in (await session.execute(select(Category))).scalars()}
    brands = {b.name.lower(): b for b in (await session.execute(select(Brand))).scalars()}
    slugs = {p.row.product_slug for p in parsed}
    products = {
        p.slug: p for p in (await session.execute(select(Product).where(Product.slug.in_(slugs)))).scalars()
    }
    skus = [p.row.sku for p in parsed]
    variants = {
        v.sku.upper(): v
        for v in (await session.execute(select(ProductVariant).where(ProductVariant.sku.in_(skus)))).scalars()
    }
    for item in parsed:
        row = item.row
        if row.category_slug and row.category_slug not in categories:
            report.errors.append(
                RowError(item.row_number, "category_slug", f"no category {row.category_slug!r}")
            )
        existing = variants.get(row.sku.upper())
        product = products.get(row.product_slug)
        if existing is not None and (product is None or existing.product_id != product.id):
            report.errors.append(RowError(item.row_number, "sku", "this SKU belongs to another product"))
        if (
            product is None
            and not row.product_name
            and not any(p.row.product_name for p in parsed if p.row.product_slug == row.product_slug)
        ):
            report.errors.append(RowError(item.row_number, "product_name", "a new product needs a name"))
    if report.errors:
        return report
    report.products_created = len(slugs - products.keys())
    report.products_updated = len(slugs & products.keys())
    report.variants_created = sum(1 for p in parsed if p.row.sku.upper() not in variants)
    report.variants_updated = len(parsed) - report.variants_created
    if dry_run:
        return report
    try:
        async with session.begin_nested():  # a failure below leaves nothing half-imported
            await _write(
                session, parsed, currency, categories, brands, products, variants, actor_user_id, progress
            )
    except _RowRefused as refused:
        report.errors.append(refused.error)
    return report


async def _write(
    session: AsyncSession,
    parsed: list[_Parsed],
    currency: str,
    categories: dict[str, Category],
    brands: dict[str, Brand],
    products: dict[str, Product],
    variants: dict[str, ProductVariant],
    actor_user_id: int | None,
    progress: Progress | None,
) -> None:
    pools: dict[str, StockPool] = {}
    touched: dict[int, Product] = {}
    for item in parsed:
        row = item.row
        product = products.get(row.product_slug)
        if product is None:
            product = Product(
                slug=row.product_slug,
                name=row.product_name or row.product_slug,
                currency=currency,
                status=ProductStatus.DRAFT,
                description_html="",
            )
            session.add(product)
            products[row.product_slug] = product
        await _apply_product_fields(product, row, categories, brands, session)
        await session.flush()
        if row.tags is not None:
            await session.execute(delete(ProductTag).where(ProductTag.product_id == product.id))
            session.add_all(ProductTag(product_id=product.id, tag=t) for t in row.tag_list())
        variant = variants.get(row.sku.upper())
        pool = await _pool_for(session, row, product, variant, pools, actor_user_id, item.row_number)
        if variant is None:
            variant = ProductVariant(product_id=product.id, sku=row.sku, pool_id=pool.id, options={})
            session.add(variant)
            variants[row.sku.upper()] = variant
        variant.name = row.variant_name or variant.name or product.name
        variant.options = item.options or variant.options or {}
        variant.price_minor = to_minor(row.price, currency)
        variant.compare_at_minor = to_minor(row.compare_at_price, currency) if row.compare_at_price else None
        variant.draw_per_unit = row.draw_per_unit
        variant.weight_grams = row.weight_grams
        variant.pool_id = pool.id
        if row.is_default is not None:
            variant.is_default = row.is_default
        touched[product.id] = product
        if progress is not None:
            progress(1)
    await session.flush()
    for product in touched.values():
        await _refresh_product(session, product)


async def _apply_product_fields(
    product: Product,
    row: CsvRow,
    categories: dict[str, Category],
    brands: dict[str, Brand],
    session: AsyncSession,
) -> None:
    if row.product_name:
        product.name = row.product_name
    if row.description is not None:
        product.description_html = sanitize_description(row.description, row.description_format)
    if row.category_slug:
        product.category_id = categories[row.category_slug].id
    if row.brand:
        brand = brands.get(row.brand.lower())
        if brand is None:
            brand = Brand(name=row.brand, slug=slugify(row.brand) or "brand")
            session.add(brand)
            await session.flush()
            brands[row.brand.lower()] = brand
        product.brand_id = brand.id
    if row.status:
        product.status = row.status
    if row.featured is not None:
        product.is_featured = row.featured
    if row.seo_title is not None:
        product.seo_title = row.seo_title
    if row.seo_description is not None:
        product.seo_description = row.seo_description


class _RowRefused(Exception):
    """A row that only the database state can refuse (stock below what is reserved): undo the import."""

    def __init__(self, row: int, column: str, message: str) -> None:
        super().__init__(message)
        self.error = RowError(row, column, message)


async def _pool_for(
    session: AsyncSession,
    row: CsvRow,
    product: Product,
    variant: ProductVariant | None,
    pools: dict[str, StockPool],
    actor_user_id: int | None,
    row_number: int,
) -> StockPool:
    """The row's stock pool: shared by ``pool_key`` within the file, else the variant's own."""
    key = f"key:{row.pool_key}" if row.pool_key else f"sku:{row.sku.upper()}"
    pool = pools.get(key)
    if pool is None and variant is not None:
        pool = await session.get(StockPool, variant.pool_id)
    if pool is None:
        pool = StockPool(
            name=product.name[:200],
            unit=row.stock_unit,
            on_hand=0,
            reserved=0,
            low_stock_threshold=row.low_stock_threshold or 0,
        )
        session.add(pool)
        await session.flush()
    if pool.unit != row.stock_unit:
        raise _RowRefused(row_number, "stock_unit", f"the stock pool counts in {pool.unit!r}")
    if row.low_stock_threshold is not None:
        pool.low_stock_threshold = row.low_stock_threshold
    if row.on_hand is not None and row.on_hand != pool.on_hand and key not in pools:
        if row.on_hand < pool.reserved:
            raise _RowRefused(
                row_number, "on_hand", f"{pool.reserved} are reserved by orders; on_hand cannot be lower"
            )
        session.add(
            StockAdjustment(
                pool_id=pool.id,
                delta=row.on_hand - pool.on_hand,
                on_hand_after=row.on_hand,
                reason="CSV import",
                actor_user_id=actor_user_id,
            )
        )
        pool.on_hand = row.on_hand
    pools[key] = pool
    return pool


async def _refresh_product(session: AsyncSession, product: Product) -> None:
    """Keep the product's price range and its single default variant true after the import."""
    rows = list(
        (
            await session.execute(
                select(ProductVariant)
                .where(ProductVariant.product_id == product.id)
                .order_by(ProductVariant.position, ProductVariant.id)
            )
        ).scalars()
    )
    active = [v for v in rows if v.is_active] or rows
    product.price_min_minor = min((v.price_minor for v in active), default=None)
    product.price_max_minor = max((v.price_minor for v in active), default=None)
    defaults = [v for v in rows if v.is_default]
    for extra in defaults[1:]:
        extra.is_default = False
    if rows and not defaults:
        rows[0].is_default = True


def export_rows(
    products: list[Product],
    variants: dict[int, list[ProductVariant]],
    pools: dict[int, StockPool],
    categories: dict[int, str],
    brands: dict[int, str],
    tags: dict[int, list[str]],
) -> Iterator[str]:
    """The export, as CSV text lines, in the import's own format (so an export imports back unchanged)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flush()
    shared = {pid for pid, n in _pool_use_counts(variants).items() if n > 1}
    for product in products:
        for v in variants.get(product.id, []):
            pool = pools[v.pool_id]
            writer.writerow(
                [
                    product.slug,
                    product.name,
                    product.description_html,
                    "html",
                    categories.get(product.category_id or 0, ""),
                    brands.get(product.brand_id or 0, ""),
                    ";".join(tags.get(product.id, [])),
                    product.status,
                    _flag(product.is_featured),
                    product.seo_title or "",
                    product.seo_description or "",
                    v.sku,
                    v.name,
                    ";".join(f"{k}={val}" for k, val in sorted(v.options.items())),
                    _amount(v.price_minor, product.currency),
                    _amount(v.compare_at_minor, product.currency),
                    _flag(v.is_default),
                    f"pool-{pool.id}" if pool.id in shared else "",
                    pool.unit,
                    pool.on_hand,
                    pool.low_stock_threshold,
                    v.draw_per_unit,
                    "" if v.weight_grams is None else v.weight_grams,
                ]
            )
            yield flush()


def _pool_use_counts(variants: dict[int, list[ProductVariant]]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for group in variants.values():
        for v in group:
            counts[v.pool_id] = counts.get(v.pool_id, 0) + 1
    return counts


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _amount(minor: int | None, currency: str) -> str:
    return "" if minor is None else format(from_minor(minor, currency), "f")


async def load_export(session: AsyncSession) -> Iterator[str]:
    """Read the whole catalog in a fixed number of queries and return the CSV lines."""
    products = list((await session.execute(select(Product).order_by(Product.id))).scalars())
    variants: dict[int, list[ProductVariant]] = {}
    for v in (
        await session.execute(
            select(ProductVariant).order_by(
                ProductVariant.product_id, ProductVariant.position, ProductVariant.id
            )
        )
    ).scalars():
        variants.setdefault(v.product_id, []).append(v)
    pools = {p.id: p for p in (await session.execute(select(StockPool))).scalars()}
    categories = {c.id: c.slug for c in (await session.execute(select(Category))).scalars()}
    brands = {b.id: b.name for b in (await session.execute(select(Brand))).scalars()}
    tags: dict[int, list[str]] = {}
    for t in (
        await session.execute(select(ProductTag).order_by(ProductTag.product_id, ProductTag.tag))
    ).scalars():
        tags.setdefault(t.product_id, []).append(t.tag)
    return export_rows(products, variants, pools, categories, brands, tags)
