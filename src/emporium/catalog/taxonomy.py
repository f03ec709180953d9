"""Rules of the category tree and of brands (the service half of /categories and /brands).

A category's ``path`` lists the ids from the root down to itself ("/1/5/12/"), so "a category and its
descendants" is one prefix match; moving a category rewrites the paths of its whole subtree in one UPDATE.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.errors import CatalogError
from emporium.catalog.models import Brand, Category
from emporium.catalog.repository import CatalogRepository
from emporium.catalog.schemas import BrandIn, BrandRead, CategoryIn, CategoryRead
from emporium.core.errors import Conflict, NotFound, ValidationFailed

MAX_PATH_LENGTH = 1000


def slugify(text: str, fallback: str) -> str:
    """``"Gulab Jamun (500 g)"`` -> ``"gulab-jamun-500-g"``; letters outside ASCII are transliterated or
    dropped, and a slug made only of digits gets the ``fallback`` word in front (digits mean an id)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug:
        return fallback
    if slug.isdigit():
        slug = f"{fallback}-{slug}"
    return slug


async def flush_unique(session: AsyncSession, code: CatalogError, message: str) -> None:
    """Flush; a unique constraint hit by a concurrent writer (after our own check passed) becomes a 409.
    The request's transaction is rolled back by the refusal, so the failed statement leaves nothing."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(message, code=code) from exc


def _category_read(category: Category, children: list[CategoryRead] | None = None) -> CategoryRead:
    return CategoryRead(
        id=category.id,
        name=category.name,
        slug=category.slug,
        description=category.description,
        parent_id=category.parent_id,
        position=category.position,
        is_active=category.is_active,
        path=category.path,
        children=children or [],
    )


def build_tree(categories: Sequence[Category], include_inactive: bool) -> list[CategoryRead]:
    """Nest the rows (already ordered by position, then name). A hidden category hides its subtree."""
    visible = [c for c in categories if include_inactive or c.is_active]
    children: dict[int | None, list[Category]] = {}
    for category in visible:
        children.setdefault(category.parent_id, []).append(category)

    def nest(parent_id: int | None, depth: int) -> list[CategoryRead]:
        if depth > MAX_PATH_LENGTH:
            return []
        return [_category_read(c, nest(c.id, depth + 1)) for c in children.get(parent_id, [])]

    return nest(None, 0)


class Taxonomy:
    # Categories ---------------------------------------------------------------------------------------

    async def category_tree(self, session: AsyncSession, *, include_inactive: bool) -> list[CategoryRead]:
        return build_tree(await CatalogRepository(session).categories(), include_inactive)

    async def _parent(self, repo: CatalogRepository, parent_id: int | None) -> Category | None:
        if parent_id is None:
            return None
        parent = await repo.category(parent_id)
        if parent is None:
            raise ValidationFailed(
                "The parent category does not exist.",
                code=CatalogError.UNKNOWN_CATEGORY,
                details=[{"field": "parent_id", "message": "No such category."}],
            )
        return parent

    async def create_category(self, session: AsyncSession, data: CategoryIn) -> CategoryRead:
        repo = CatalogRepository(session)
        slug = data.slug or slugify(data.name, "category")
        if await repo.category_slug_taken(slug):
            raise Conflict("A category with this slug already exists.", code=CatalogError.SLUG_TAKEN)
        parent = await self._parent(repo, data.parent_id)
        category = Category(
            parent_id=data.parent_id,
            name=data.name,
            slug=slug,
            description=data.description,
            position=data.position,
            is_active=data.is_active,
            path="/",
        )
        session.add(category)
        await flush_unique(session, CatalogError.SLUG_TAKEN, "A category with this slug already exists.")
        category.path = f"{parent.path if parent else '/'}{category.id}/"
        if len(category.path) > MAX_PATH_LENGTH:
            raise ValidationFailed("The category tree is too deep here.", code=CatalogError.CATEGORY_TOO_DEEP)
        await session.flush()
        return _category_read(category)

    async def _category(self, repo: CatalogRepository, category_id: int) -> Category:
        category = await repo.category(category_id)
        if category is None:
            raise NotFound("Category not found.", code=CatalogError.CATEGORY_NOT_FOUND)
        return category

    async def update_category(
        self, session: AsyncSession, category_id: int, data: CategoryIn
    ) -> CategoryRead:
        repo = CatalogRepository(session)
        category = await self._category(repo, category_id)
        slug = data.slug or category.slug
        if slug != category.slug and await repo.category_slug_taken(slug, exclude_id=category.id):
            raise Conflict("A category with this slug already exists.", code=CatalogError.SLUG_TAKEN)
        if data.parent_id != category.parent_id:
            parent = await self._parent(repo, data.parent_id)
            if parent is not None and parent.path.startswith(category.path):
                raise Conflict(
                    "A category cannot move under itself or one of its descendants.",
                    code=CatalogError.CATEGORY_CYCLE,
                )
            old_path = category.path
            new_path = f"{parent.path if parent else '/'}{category.id}/"
            longest = await repo.longest_path_under(old_path)
            if longest - len(old_path) + len(new_path) > MAX_PATH_LENGTH:
                raise ValidationFailed(
                    "The category tree would be too deep.", code=CatalogError.CATEGORY_TOO_DEEP
                )
            await repo.move_subtree(old_path, new_path)
            category.parent_id = data.parent_id
            category.path = new_path
        category.name = data.name
        category.slug = slug
        category.description = data.description
        category.position = data.position
        category.is_active = data.is_active
        await flush_unique(session, CatalogError.SLUG_TAKEN, "A category with this slug already exists.")
        return _category_read(category)

    async def category(self, session: AsyncSession, category_id: int) -> CategoryRead:
        return _category_read(await self._category(CatalogRepository(session), category_id))

    async def step_category(self, session: AsyncSession, category_id: int, up: bool) -> CategoryRead | None:
        """Move a category one place up or down among its siblings; None when it is already first or last.
        The siblings are numbered 0, 1, 2... in their shown order, so equal positions sort predictably."""
        repo = CatalogRepository(session)
        category = await self._category(repo, category_id)
        siblings = list(await repo.siblings(category.parent_id))
        index = next(i for i, c in enumerate(siblings) if c.id == category.id)
        other = index - 1 if up else index + 1
        if other < 0 or other >= len(siblings):
            return None
        siblings[index], siblings[other] = siblings[other], siblings[index]
        for position, sibling in enumerate(siblings):
            if sibling.position != position:
                sibling.position = position
        await session.flush()
        return _category_read(category)

    async def product_counts_by_category(self, session: AsyncSession) -> dict[int, int]:
        """How many products each category holds directly (any status)."""
        return await CatalogRepository(session).product_counts_by_category()

    async def delete_category(self, session: AsyncSession, category_id: int) -> None:
        repo = CatalogRepository(session)
        category = await self._category(repo, category_id)
        if await repo.category_has_children(category.id):
            raise Conflict("Move or delete the subcategories first.", code=CatalogError.CATEGORY_HAS_CHILDREN)
        if await repo.category_has_products(category.id):
            raise Conflict(
                "Move the products of this category first.", code=CatalogError.CATEGORY_HAS_PRODUCTS
            )
        await session.delete(category)
        await session.flush()

    # Brands -------------------------------------------------------------------------------------------

    async def brands(self, session: AsyncSession) -> list[BrandRead]:
        return [BrandRead.model_validate(brand) for brand in await CatalogRepository(session).brands()]

    async def brand(self, session: AsyncSession, brand_id: int) -> BrandRead:
        return BrandRead.model_validate(await self._brand(CatalogRepository(session), brand_id))

    async def product_counts_by_brand(self, session: AsyncSession) -> dict[int, int]:
        """How many products carry each brand (any status)."""
        return await CatalogRepository(session).product_counts_by_brand()

    async def _check_brand_clash(
        self, repo: CatalogRepository, name: str, slug: str, exclude_id: int | None = None
    ) -> None:
        if await repo.brand_clash(name, slug, exclude_id) is not None:
            raise Conflict("A brand with this name or slug already exists.", code=CatalogError.BRAND_TAKEN)

    async def create_brand(self, session: AsyncSession, data: BrandIn) -> BrandRead:
        repo = CatalogRepository(session)
        slug = data.slug or slugify(data.name, "brand")
        await self._check_brand_clash(repo, data.name, slug)
        brand = Brand(name=data.name, slug=slug, description=data.description)
        session.add(brand)
        await flush_unique(
            session, CatalogError.BRAND_TAKEN, "A brand with this name or slug already exists."
        )
        return BrandRead.model_validate(brand)

    async def _brand(self, repo: CatalogRepository, brand_id: int) -> Brand:
        brand = await repo.brand(brand_id)
        if brand is None:
            raise NotFound("Brand not found.", code=CatalogError.BRAND_NOT_FOUND)
        return brand

    async def update_brand(self, session: AsyncSession, brand_id: int, data: BrandIn) -> BrandRead:
        repo = CatalogRepository(session)
        brand = await self._brand(repo, brand_id)
        slug = data.slug or brand.slug
        await self._check_brand_clash(repo, data.name, slug, exclude_id=brand.id)
        brand.name = data.name
        brand.slug = slug
        brand.description = data.description
        await flush_unique(
            session, CatalogError.BRAND_TAKEN, "A brand with this name or slug already exists."
        )
        return BrandRead.model_validate(brand)

    async def delete_brand(self, session: AsyncSession, brand_id: int) -> None:
        repo = CatalogRepository(session)
        brand = await self._brand(repo, brand_id)
        if await repo.brand_has_products(brand.id):
            raise Conflict(
                "Products still carry this brand; change them first.", code=CatalogError.BRAND_IN_USE
            )
        await session.delete(brand)
        await session.flush()


taxonomy = Taxonomy()
