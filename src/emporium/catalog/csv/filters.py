"""Which products an export holds: the back office's product filter, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StockState = Literal["in", "low", "out"]


@dataclass(frozen=True)
class ExportFilter:
    """``q`` is a piece of the name or a whole SKU; ``category_id`` includes its subcategories; stock ``in``
    means sellable and no pool at or under its threshold, ``low`` sellable with such a pool, ``out`` no
    active variant can be sold once. Every field left empty: the whole catalog."""

    q: str = ""
    category_id: int | None = None
    brand_id: int | None = None
    status: str | None = None
    stock: StockState | None = None
    featured: bool = False
