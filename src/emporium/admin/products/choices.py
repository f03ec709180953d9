"""The category and brand choices of the product screens' select boxes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.schemas import CategoryRead
from emporium.catalog.taxonomy import taxonomy


@dataclass(frozen=True)
class Choice:
    id: int
    label: str


def _flatten(tree: list[CategoryRead], depth: int = 0) -> list[Choice]:
    found: list[Choice] = []
    for node in tree:
        found.append(Choice(node.id, "— " * depth + node.name))
        found.extend(_flatten(node.children, depth + 1))
    return found


async def category_choices(session: AsyncSession) -> list[Choice]:
    """Every category, inactive ones too, in tree order with their depth shown."""
    return _flatten(await taxonomy.category_tree(session, include_inactive=True))


async def brand_choices(session: AsyncSession) -> list[Choice]:
    return [Choice(brand.id, brand.name) for brand in await taxonomy.brands(session)]
