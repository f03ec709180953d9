"""Adding lines to a cart: one line or a list, read in one statement and written in one.

The lines asked for are resolved to variants (a product means its default variant, else its first active
one), lines of one variant are merged, and the whole list is checked against the pools it draws on: the
draws of every line on one pool (the lines already in the cart and the ones coming in) add up against what
the pool has left. Stock is handed out to the lines already in the cart first, then to the new lines in the
order they were asked for, so the line named in a refusal is the first one that does not fit. By default a
refusal refuses the whole list and the cart is left as it was; ``keep_going`` leaves out the refused lines
and adds the rest ("order again" puts back what it can and names the rest).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.cart.errors import CartError
from emporium.cart.models import MAX_LINE_QUANTITY, Cart
from emporium.cart.repository import CartLine, CartRepository, CatalogRow, LineWrite
from emporium.cart.schemas import ItemAdd
from emporium.catalog.errors import CatalogError
from emporium.catalog.models import ProductStatus
from emporium.catalog.names import line_name
from emporium.core.errors import Conflict, EmporiumError, NotFound, ValidationFailed
from emporium.inventory.availability import units_available
from emporium.inventory.errors import InventoryError


class InsufficientStock(Conflict):
    code = InventoryError.INSUFFICIENT_STOCK
    message = "Not enough stock for this quantity."


@dataclass(frozen=True)
class Refused:
    """A line left out of the cart: its position in the list asked for, and why."""

    index: int
    error: EmporiumError


@dataclass(frozen=True)
class Added:
    """The cart's lines after the addition (in cart order), and the lines left out (``keep_going`` only)."""

    lines: list[CartLine]
    refused: list[Refused]


@dataclass
class _Merged:
    index: int  # the first line of the list asking for this variant
    row: CatalogRow
    quantity: int
    indexes: list[int]  # every line of the list asking for it


class _Fields:
    """Names the field of a refused line as the client sent it: ``quantity`` for a single line,
    ``items.3.quantity`` for the fourth line of a list."""

    def __init__(self, many: bool) -> None:
        self.many = many

    def __call__(self, index: int, name: str) -> str:
        return f"items.{index}.{name}" if self.many else name


def _defaults(rows: Sequence[CatalogRow]) -> dict[int, CatalogRow]:
    """Each product's default variant, else its first active one (by position, then id)."""
    chosen: dict[int, CatalogRow] = {}
    for row in rows:
        if not row.variant.is_active:
            continue
        rank = (not row.variant.is_default, row.variant.position, row.variant.id)
        best = chosen.get(row.product.id)
        if best is None or rank < (not best.variant.is_default, best.variant.position, best.variant.id):
            chosen[row.product.id] = row
    return chosen


def _resolve(
    line: ItemAdd,
    index: int,
    by_variant: dict[int, CatalogRow],
    defaults: dict[int, CatalogRow],
    field: _Fields,
) -> CatalogRow:
    asked = "variant_id" if line.variant_id is not None else "product_id"
    row = (
        by_variant.get(line.variant_id) if line.variant_id is not None else defaults.get(line.product_id or 0)
    )
    if row is None:
        raise NotFound(
            "No such product or variant.",
            code=CatalogError.VARIANT_NOT_FOUND,
            details=[{"field": field(index, asked)}],
        )
    if row.product.status != ProductStatus.ACTIVE or not row.variant.is_active:
        raise ValidationFailed(
            f"{line_name(row.product.name, row.variant.name)} is not for sale.",
            code=CartError.NOT_FOR_SALE,
            details=[{"field": field(index, asked)}],
        )
    return row


def _merge(
    rows: Sequence[CatalogRow], wanted: Sequence[ItemAdd], field: _Fields, refused: list[Refused] | None
) -> list[_Merged]:
    """The lines asked for as variants, one entry per variant in the order first asked for."""
    by_variant = {row.variant.id: row for row in rows}
    defaults = _defaults(rows)
    merged: dict[int, _Merged] = {}
    for index, line in enumerate(wanted):
        try:
            row = _resolve(line, index, by_variant, defaults, field)
        except EmporiumError as exc:
            if refused is None:
                raise
            refused.append(Refused(index, exc))
            continue
        entry = merged.get(row.variant.id)
        if entry is None:
            merged[row.variant.id] = _Merged(index, row, line.quantity, [index])
        else:
            entry.quantity += line.quantity
            entry.indexes.append(index)
    return list(merged.values())


def _check(entry: _Merged, total: int, room: int, field: _Fields) -> None:
    if total > MAX_LINE_QUANTITY:
        raise ValidationFailed(
            details=[
                {
                    "field": field(entry.index, "quantity"),
                    "message": f"At most {MAX_LINE_QUANTITY} of one item.",
                }
            ]
        )
    if total > room:
        name = line_name(entry.row.product.name, entry.row.variant.name)
        raise InsufficientStock(
            f"Only {room} of {name} can be added." if field.many else f"Only {room} can be added.",
            details=[{"field": field(entry.index, "quantity"), "message": f"{room} available"}],
        )


def plan(
    rows: Sequence[CatalogRow], wanted: Sequence[ItemAdd], *, many: bool, keep_going: bool = False
) -> tuple[list[LineWrite], list[Refused]]:
    """What to write for ``wanted`` given the cart's lines and the variants asked for (``rows``); raises the
    first refusal, or with ``keep_going`` returns the refused lines beside the writes."""
    field = _Fields(many)
    refused: list[Refused] | None = [] if keep_going else None
    merged = _merge(rows, wanted, field, refused)
    coming = {entry.row.variant.id for entry in merged}
    held: dict[int, int] = defaultdict(int)  # by pool: what the lines already given stock take from it
    for row in rows:
        if row.item is not None and row.variant.id not in coming:
            held[row.pool.id] += row.item.quantity * row.variant.draw_per_unit
    writes = []
    for entry in merged:
        variant, pool = entry.row.variant, entry.row.pool
        had = entry.row.item.quantity if entry.row.item is not None else 0
        total = had + entry.quantity
        try:
            _check(
                entry,
                total,
                units_available(pool.on_hand, pool.reserved, variant.draw_per_unit, held=held[pool.id]),
                field,
            )
        except EmporiumError as exc:
            if refused is None:
                raise
            refused += [Refused(index, exc) for index in entry.indexes]
            held[pool.id] += had * variant.draw_per_unit  # the line stays as it was
            continue
        held[pool.id] += total * variant.draw_per_unit
        writes.append(LineWrite(variant.id, entry.quantity, variant.price_minor))
    return writes, sorted(refused or [], key=lambda r: r.index)


async def add_lines(
    session: AsyncSession, cart: Cart, wanted: Sequence[ItemAdd], *, many: bool, keep_going: bool = False
) -> Added:
    """Add ``wanted`` to ``cart`` in two statements (one read, one write) whatever the number of lines."""
    repo = CartRepository(session)
    rows = await repo.lines_and_variants(
        cart.id,
        {line.variant_id for line in wanted if line.variant_id is not None},
        {line.product_id for line in wanted if line.product_id is not None},
    )
    writes, refused = plan(rows, wanted, many=many, keep_going=keep_going)
    try:
        written = await repo.add_to_lines(cart.id, writes) if writes else []
    except IntegrityError as exc:  # another request of this cart pushed a line past its limit meanwhile
        raise Conflict("The cart changed meanwhile; try again.", code=CartError.CART_CHANGED) from exc
    by_variant = {row.variant.id: row for row in rows}
    lines = {
        row.item.id: CartLine(row.item, row.variant, row.product, row.pool, row.category_path)
        for row in rows
        if row.item is not None
    }
    for item in written:
        row = by_variant[item.variant_id]
        lines[item.id] = CartLine(item, row.variant, row.product, row.pool, row.category_path)
    return Added([lines[key] for key in sorted(lines)], refused)
