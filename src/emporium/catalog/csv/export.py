"""The CSV export: the catalog as text lines, in the import's own format (an export imports back unchanged).
Text a spreadsheet would run as a formula is written behind an apostrophe, which the import takes off.

Variants that share a pool are written with one ``pool_key`` (``pool-<id>``), so the import shares it again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from emporium.catalog.csv.rows import COLUMNS, neutralise
from emporium.catalog.models import Product, ProductVariant
from emporium.core.money import from_minor
from emporium.inventory.models import StockPool


def export_rows(
    products: list[Product],
    variants: dict[int, list[ProductVariant]],
    pools: dict[int, StockPool],
    categories: dict[int, str],
    brands: dict[int, str],
    tags: dict[int, list[str]],
    *,
    shared: set[int] | None = None,
) -> Iterator[str]:
    """The export, as CSV text lines, in the import's own format (so an export imports back unchanged).
    ``shared``: the pools more than one variant draws from, when ``variants`` is only part of the catalog."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flush()
    if shared is None:
        shared = {pid for pid, n in _pool_use_counts(variants).items() if n > 1}
    for product in products:
        for v in variants.get(product.id, []):
            pool = pools[v.pool_id]
            writer.writerow(
                neutralise(cell)
                for cell in (
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
                )
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
