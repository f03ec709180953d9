"""Every SQL statement of the catalog (categories, brands, products, variants, tags, images).

Stock pools belong to inventory: the catalog reads them beside its variants here, and opens, finds and
drops them through the inventory service.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Integer,
    ScalarSelect,
    Select,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from emporium.catalog.list_repository import (
    conditions,
    filter_shape,
    filter_values,
    in_stock_expression,
    ordering,
)
from emporium.catalog.models import (
    Brand,
    Category,
    Product,
    ProductImage,
    ProductTag,
    ProductVariant,
)
from emporium.catalog.schemas import ProductFilters, SortKey
from emporium.core.db import read_alone
from emporium.inventory.models import StockPool

ProductRow = tuple[Product, Brand | None, Category | None]

# What a product list shows of a product and of its first image (see ``product_page``).
LISTED_PRODUCT_COLUMNS = (
    Product.id,
    Product.name,
    Product.slug,
    Product.status,
    Product.is_featured,
    Product.currency,
    Product.price_min_minor,
    Product.price_max_minor,
    Product.rating_average,
    Product.rating_count,
    Product.created_at,
)
LISTED_IMAGE_COLUMNS = (
    ProductImage.id,
    ProductImage.variant_id,
    ProductImage.alt_text,
    ProductImage.position,
    ProductImage.width,
    ProductImage.height,
    ProductImage.files,
)


_CANDIDATE_IMAGE = aliased(ProductImage)
AnySelect = Select[*tuple[Any, ...]]


def _counted(filters: ProductFilters, *, capped: bool, postgres: bool) -> ScalarSelect[int]:
    """How many products match; ``capped``: at most ``count_limit`` of them are counted."""
    matching = select(Product.id).where(*conditions(filters, postgres=postgres))
    if capped:
        matching = matching.limit(bindparam("count_limit", type_=Integer, literal_execute=True))
    return select(func.count()).select_from(matching.subquery()).scalar_subquery()


# Built statements of the product page, by filter shape, sort and dialect: building one took longer
# than PostgreSQL took to run it. Their values are all bind parameters; a few hundred shapes at most.
_PAGE_STATEMENTS: OrderedDict[tuple[Any, ...], AnySelect] = OrderedDict()
PAGE_STATEMENTS_KEPT = 256


def _page_statement(filters: ProductFilters, sort: SortKey, postgres: bool) -> AnySelect:
    key = (filter_shape(filters), sort, postgres)
    statement = _PAGE_STATEMENTS.get(key)
    if statement is None:
        statement = _PAGE_STATEMENTS[key] = _build_page_statement(filters, sort, postgres)
        if len(_PAGE_STATEMENTS) > PAGE_STATEMENTS_KEPT:
            _PAGE_STATEMENTS.popitem(last=False)
    else:
        _PAGE_STATEMENTS.move_to_end(key)
    return statement


def _build_page_statement(filters: ProductFilters, sort: SortKey, postgres: bool) -> AnySelect:
    # The limits are written into the SQL when it runs (they are integers): with a LIMIT as a parameter
    # PostgreSQL re-plans the prepared statement every time (1.4 ms, more than running it), because a
    # plan that ignores the LIMIT is no good. The filters stay parameters.
    page = (
        select(Product.id)
        .where(*conditions(filters, postgres=postgres))
        .order_by(*ordering(sort))
        .offset(bindparam("offset", type_=Integer, literal_execute=True))
        .limit(bindparam("limit", type_=Integer, literal_execute=True))
        .subquery("page")
    )
    candidate = _CANDIDATE_IMAGE
    first_image = (
        select(candidate.id)
        .where(candidate.product_id == Product.id)
        .order_by(candidate.position, candidate.id)
        .limit(1)
        .correlate(Product)
        .scalar_subquery()
    )
    # An array on PostgreSQL (asyncpg decodes it natively; JSON went through json.loads per row), a JSON
    # array on SQLite, which has no arrays.
    aggregate = func.array_agg if postgres else func.json_group_array
    tags = select(aggregate(ProductTag.tag)).where(ProductTag.product_id == Product.id).scalar_subquery()
    statement: AnySelect = (
        select(
            *LISTED_PRODUCT_COLUMNS,
            Brand.id.label("brand_id"),
            Brand.name.label("brand_name"),
            Brand.slug.label("brand_slug"),
            Category.id.label("category_id"),
            Category.name.label("category_name"),
            Category.slug.label("category_slug"),
            in_stock_expression(per_row=True).label("in_stock"),
            tags.label("tags"),
            *(column.label(f"image_{column.key}") for column in LISTED_IMAGE_COLUMNS),
            _counted(filters, capped=True, postgres=postgres).label("counted"),
        )
        .select_from(page)
        .join(Product, Product.id == page.c.id)
        .outerjoin(Brand, Brand.id == Product.brand_id)
        .outerjoin(Category, Category.id == Product.category_id)
        .outerjoin(ProductImage, ProductImage.id == first_image)
        .order_by(*ordering(sort))
    )
    return statement


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Categories ---------------------------------------------------------------------------------------

    async def categories(self) -> Sequence[Category]:
        result = await self.session.scalars(
            select(Category).order_by(Category.position, Category.name, Category.id)
        )
        return result.all()

    async def category(self, category_id: int) -> Category | None:
        return await self.session.get(Category, category_id)

    async def category_slug_taken(self, slug: str, exclude_id: int | None = None) -> bool:
        query = select(Category.id).where(Category.slug == slug)
        if exclude_id is not None:
            query = query.where(Category.id != exclude_id)
        return await self.session.scalar(query.limit(1)) is not None

    async def category_has_children(self, category_id: int) -> bool:
        found = await self.session.scalar(select(exists().where(Category.parent_id == category_id)))
        return bool(found)

    async def category_has_products(self, category_id: int) -> bool:
        found = await self.session.scalar(select(exists().where(Product.category_id == category_id)))
        return bool(found)

    async def longest_path_under(self, path: str) -> int:
        longest = await self.session.scalar(
            select(func.max(func.length(Category.path))).where(Category.path.like(path + "%"))
        )
        return int(longest or 0)

    async def move_subtree(self, old_path: str, new_path: str) -> None:
        """Re-root every path under ``old_path`` (the node itself included) at ``new_path``."""
        await self.session.execute(
            update(Category)
            .where(Category.path.like(old_path + "%"))
            .values(path=literal(new_path) + func.substr(Category.path, len(old_path) + 1))
            .execution_options(synchronize_session=False)
        )

    async def siblings(self, parent_id: int | None) -> Sequence[Category]:
        """The children of ``parent_id`` (top-level categories for None), as the tree orders them."""
        parent = Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id
        result = await self.session.scalars(
            select(Category).where(parent).order_by(Category.position, Category.name, Category.id)
        )
        return result.all()

    async def product_counts_by_category(self) -> dict[int, int]:
        query = (
            select(Product.category_id, func.count())
            .where(Product.category_id.is_not(None))
            .group_by(Product.category_id)
        )
        return {int(row[0] or 0): int(row[1]) for row in (await self.session.execute(query)).all()}

    # Brands -------------------------------------------------------------------------------------------

    async def product_counts_by_brand(self) -> dict[int, int]:
        query = (
            select(Product.brand_id, func.count())
            .where(Product.brand_id.is_not(None))
            .group_by(Product.brand_id)
        )
        return {int(row[0] or 0): int(row[1]) for row in (await self.session.execute(query)).all()}

    async def brands(self) -> Sequence[Brand]:
        result = await self.session.scalars(select(Brand).order_by(func.lower(Brand.name), Brand.id))
        return result.all()

    async def brand(self, brand_id: int) -> Brand | None:
        return await self.session.get(Brand, brand_id)

    async def brand_clash(self, name: str, slug: str, exclude_id: int | None = None) -> Brand | None:
        query = select(Brand).where(or_(func.lower(Brand.name) == name.lower(), Brand.slug == slug))
        if exclude_id is not None:
            query = query.where(Brand.id != exclude_id)
        return await self.session.scalar(query.limit(1))

    async def brand_has_products(self, brand_id: int) -> bool:
        found = await self.session.scalar(select(exists().where(Product.brand_id == brand_id)))
        return bool(found)

    # Products -----------------------------------------------------------------------------------------

    async def product_row(self, product_id: int | None = None, slug: str | None = None) -> ProductRow | None:
        """The product with its brand and category, found by id or by slug, in one statement."""
        query = (
            select(Product, Brand, Category)
            .outerjoin(Brand, Brand.id == Product.brand_id)
            .outerjoin(Category, Category.id == Product.category_id)
        )
        query = (
            query.where(Product.id == product_id)
            if product_id is not None
            else query.where(Product.slug == slug)
        )
        # populate_existing: the price range may have just been rewritten by an UPDATE statement.
        row = (await self.session.execute(query.execution_options(populate_existing=True))).first()
        if row is None:
            return None
        return row[0], row[1], row[2]

    async def product(self, product_id: int) -> Product | None:
        return await self.session.get(Product, product_id)

    async def product_slug_taken(self, slug: str, exclude_id: int | None = None) -> bool:
        query = select(Product.id).where(Product.slug == slug)
        if exclude_id is not None:
            query = query.where(Product.id != exclude_id)
        return await self.session.scalar(query.limit(1)) is not None

    async def product_slugs_like(self, base: str) -> set[str]:
        result = await self.session.scalars(
            select(Product.slug).where(or_(Product.slug == base, Product.slug.like(base + "-%")))
        )
        return set(result.all())

    async def count_products(self, filters: ProductFilters, at_most: int | None = None) -> int:
        """How many products match; with ``at_most``, counting stops after ``at_most + 1`` of them."""
        values = filter_values(filters)
        if at_most is not None:
            values["count_limit"] = at_most + 1
        postgres = self.session.get_bind().dialect.name == "postgresql"
        counted = _counted(filters, capped=at_most is not None, postgres=postgres)
        total = await self.session.scalar(select(counted), values)
        return int(total or 0)

    async def product_page(
        self, filters: ProductFilters, sort: SortKey, offset: int, limit: int, count_at_most: int
    ) -> Sequence[Mapping[Any, Any]]:
        """One page of the list in one statement: each row holds the product's columns, its brand and
        category, whether it is in stock, its tags, its first image and the (capped) count of the whole
        match (see ``count_products``; the same on every row, and absent with the rows past the end).

        The page is chosen on ``products`` alone and only its rows are joined and probed: sorting or
        skipping never touches a brand, a tag or an image. Core rows, not ORM objects, since nothing
        here is changed, and building ORM objects cost more than the SQL."""
        postgres = self.session.get_bind().dialect.name == "postgresql"
        values = filter_values(filters) | {"offset": offset, "limit": limit, "count_limit": count_at_most + 1}
        return await read_alone(self.session, _page_statement(filters, sort, postgres), values)

    async def tags_of(self, product_ids: Sequence[int]) -> dict[int, list[str]]:
        tags: dict[int, list[str]] = defaultdict(list)
        if not product_ids:
            return tags
        rows = await self.session.execute(
            select(ProductTag.product_id, ProductTag.tag)
            .where(ProductTag.product_id.in_(product_ids))
            .order_by(ProductTag.product_id, ProductTag.tag)
        )
        for product_id, tag in rows:
            tags[product_id].append(tag)
        return tags

    async def replace_tags_of(self, tags: Mapping[int, Sequence[str]]) -> None:
        """Several products' tags replaced in two statements (a catalog import's chunk)."""
        await self.session.execute(delete(ProductTag).where(ProductTag.product_id.in_(list(tags))))
        rows = [{"product_id": pid, "tag": tag} for pid, names in tags.items() for tag in names]
        if rows:
            await self.session.execute(insert(ProductTag), rows)

    async def replace_tags(self, product_id: int, tags: Sequence[str]) -> None:
        await self.session.execute(delete(ProductTag).where(ProductTag.product_id == product_id))
        if tags:
            await self.session.execute(
                insert(ProductTag), [{"product_id": product_id, "tag": tag} for tag in tags]
            )

    async def images_of(self, product_id: int) -> Sequence[ProductImage]:
        result = await self.session.scalars(
            select(ProductImage)
            .where(ProductImage.product_id == product_id)
            .order_by(ProductImage.position, ProductImage.id)
        )
        return result.all()

    async def first_images(self, product_ids: Sequence[int]) -> dict[int, ProductImage]:
        """The first image (by position) of each product, in one statement."""
        if not product_ids:
            return {}
        rank = (
            func.row_number()
            .over(partition_by=ProductImage.product_id, order_by=(ProductImage.position, ProductImage.id))
            .label("rank")
        )
        ranked = select(ProductImage.id, rank).where(ProductImage.product_id.in_(product_ids)).subquery()
        result = await self.session.scalars(
            select(ProductImage).join(ranked, ranked.c.id == ProductImage.id).where(ranked.c.rank == 1)
        )
        return {image.product_id: image for image in result.all()}

    async def refresh_price_range(self, product_id: int) -> None:
        """Keep ``price_min_minor``/``price_max_minor`` equal to the active variants' range."""
        active = (ProductVariant.product_id == product_id) & ProductVariant.is_active.is_(True)
        await self.session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(
                price_min_minor=select(func.min(ProductVariant.price_minor)).where(active).scalar_subquery(),
                price_max_minor=select(func.max(ProductVariant.price_minor)).where(active).scalar_subquery(),
            )
            .execution_options(synchronize_session=False)
        )

    async def delete_product(self, product_id: int) -> None:
        await self.session.execute(delete(Product).where(Product.id == product_id))

    # Variants and pools -------------------------------------------------------------------------------

    async def variants_with_pools(self, product_id: int) -> list[tuple[ProductVariant, StockPool]]:
        rows = await self.session.execute(
            select(ProductVariant, StockPool)
            .join(StockPool, StockPool.id == ProductVariant.pool_id)
            .where(ProductVariant.product_id == product_id)
            .order_by(ProductVariant.position, ProductVariant.id)
            .execution_options(populate_existing=True)
        )
        return [(row[0], row[1]) for row in rows]

    async def variant_with_pool(self, variant_id: int) -> tuple[ProductVariant, StockPool] | None:
        row = (
            await self.session.execute(
                select(ProductVariant, StockPool)
                .join(StockPool, StockPool.id == ProductVariant.pool_id)
                .where(ProductVariant.id == variant_id)
                .execution_options(populate_existing=True)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def pool_ids_of_product(self, product_id: int) -> list[int]:
        result = await self.session.scalars(
            select(ProductVariant.pool_id).where(ProductVariant.product_id == product_id).distinct()
        )
        return list(result.all())

    async def sku_taken(self, sku: str, exclude_id: int | None = None) -> bool:
        query = select(ProductVariant.id).where(func.lower(ProductVariant.sku) == sku.lower())
        if exclude_id is not None:
            query = query.where(ProductVariant.id != exclude_id)
        return await self.session.scalar(query.limit(1)) is not None

    async def skus_taken(self, skus: Sequence[str]) -> list[str]:
        lowered = [sku.lower() for sku in skus]
        result = await self.session.scalars(
            select(ProductVariant.sku).where(func.lower(ProductVariant.sku).in_(lowered))
        )
        return list(result.all())

    async def has_variants(self, product_id: int) -> bool:
        found = await self.session.scalar(select(exists().where(ProductVariant.product_id == product_id)))
        return bool(found)

    async def clear_default(self, product_id: int, keep_id: int) -> None:
        await self.session.execute(
            update(ProductVariant)
            .where(
                ProductVariant.product_id == product_id,
                ProductVariant.id != keep_id,
                ProductVariant.is_default.is_(True),
            )
            .values(is_default=False)
            .execution_options(synchronize_session="fetch")
        )

    async def first_variant(self, product_id: int) -> ProductVariant | None:
        return await self.session.scalar(
            select(ProductVariant)
            .where(ProductVariant.product_id == product_id)
            .order_by(ProductVariant.is_active.desc(), ProductVariant.position, ProductVariant.id)
            .limit(1)
        )

    async def delete_variant(self, variant_id: int) -> None:
        await self.session.execute(delete(ProductVariant).where(ProductVariant.id == variant_id))
