"""Finding a product the way staff ask for it: by its SKU exactly (in any case), or by a piece of its name.

Both lookups are answered from an index (migration 0018): ``lower(sku)`` on the variants, a trigram index on
``lower(name)`` on PostgreSQL. An e-mail address is no product's SKU (a SKU holds letters, digits, ``.``,
``_`` and ``-``) and no product is looked up by one, so it runs neither.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.lookup_repository import LookupRepository
from emporium.core.search_text import SearchKind, classify


@dataclass(frozen=True)
class ProductMatch:
    id: int
    name: str
    slug: str
    status: str
    sku: str | None


async def find_products(session: AsyncSession, text: str, limit: int = 5) -> list[ProductMatch]:
    """Products whose variant has this SKU first, then products whose name contains ``text``."""
    if classify(text) is SearchKind.EMAIL:
        return []
    repo = LookupRepository(session)
    found = [ProductMatch(row[0], row[1], row[2], row[3], row[4]) for row in await repo.by_sku(text, limit)]
    seen = {match.id for match in found}
    if len(found) < limit and len(text) >= 2:
        for row in await repo.by_name(text, limit):
            if row[0] not in seen and len(found) < limit:
                found.append(ProductMatch(row[0], row[1], row[2], row[3], None))
    return found
