"""The back office's variant editor: every variant of a product and the stock pools they draw from, read as
one grid and saved as one change.

A save is all or nothing. Every row is checked first (SKU, prices, weight, draw, pool) and SKUs are
compared with each other and with other products' in one statement; the pools' new counts are checked
against what orders hold, under a lock, by the inventory service. Only when nothing is wrong are the
variants written, in one batched UPDATE of the rows that changed, with an audit entry per change in the
same transaction. Any error leaves the database as it was and names the row and field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import Change, audit, diff
from emporium.catalog.grid_repository import GridRepository
from emporium.catalog.models import Product, ProductVariant
from emporium.catalog.repository import CatalogRepository
from emporium.catalog.schemas import MAX_PRICE, MAX_QUANTITY
from emporium.catalog.variants import money_string, product_or_not_found
from emporium.core.db import utcnow
from emporium.core.errors import Conflict, ValidationFailed
from emporium.core.money import MoneyError, to_minor
from emporium.inventory.availability import units_available
from emporium.inventory.models import StockPool, StockUnit
from emporium.inventory.service import BelowReserved, PoolChange, inventory

AuditEntryIn = tuple[str, AuditedObject, dict[str, Change] | None]
NEW_POOL = "new"
MAX_WEIGHT_GRAMS = 10_000_000
_SKU = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNITS = frozenset(unit.value for unit in StockUnit)
STOCK_REASON = "Stock count in the variant editor"


@dataclass(frozen=True)
class RowIn:
    """One row of the grid as the form sent it (text, checked here)."""

    variant_id: int
    name: str
    sku: str
    price: str
    compare_at: str
    weight: str
    draw: str
    pool: str
    active: bool


@dataclass(frozen=True)
class PoolIn:
    """A pool's count as typed, and the count the page showed (``seen``): a count left as shown is not
    written, so a sale recorded meanwhile is never overwritten by the page's older figure."""

    pool_id: int
    on_hand: str
    unit: str
    seen: str


@dataclass(frozen=True)
class GridIn:
    rows: list[RowIn]
    default_id: int | None
    pools: list[PoolIn]


@dataclass(frozen=True)
class GridVariant:
    id: int
    name: str
    sku: str
    options: dict[str, str]
    price: str
    compare_at: str
    weight: str
    draw: int
    pool_id: int
    active: bool
    default: bool
    can_sell: int


@dataclass(frozen=True)
class GridPool:
    id: int
    name: str
    unit: str
    on_hand: int
    reserved: int
    available: int
    variant_ids: list[int]


@dataclass(frozen=True)
class Grid:
    product_id: int
    product_name: str
    currency: str
    variants: list[GridVariant]
    pools: list[GridPool]


class GridInvalid(ValidationFailed):
    """Some rows or pools are wrong; nothing was saved. ``rows`` and ``pools`` map an id to
    ``{field: message}``; ``general`` holds what belongs to no row."""

    message = "Nothing was saved: correct the fields marked below."

    def __init__(
        self,
        rows: dict[int, dict[str, str]],
        pools: dict[int, dict[str, str]],
        general: list[str] | None = None,
    ) -> None:
        details = [
            {"field": f"variants.{vid}.{name}", "message": text}
            for vid, fields in rows.items()
            for name, text in fields.items()
        ] + [
            {"field": f"pools.{pid}.{name}", "message": text}
            for pid, fields in pools.items()
            for name, text in fields.items()
        ]
        details += [{"field": "variants", "message": text} for text in general or []]
        super().__init__(details=details)
        self.rows = rows
        self.pools = pools
        self.general = general or []


@dataclass
class _Checked:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _amount(text: str, currency: str, *, required: bool) -> int | None:
    """Minor units of a decimal typed by staff; raises ValueError with a message staff can act on."""
    text = text.strip()
    if not text:
        if required:
            raise ValueError("Enter a price.")
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("Not an amount: write it like 19.99.") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError("A price cannot be negative.")
    if amount > MAX_PRICE:
        raise ValueError(f"A price cannot exceed {MAX_PRICE}.")
    try:
        return to_minor(amount, currency)
    except MoneyError as exc:
        raise ValueError(f"{exc}.") from exc


def _whole(text: str, low: int, high: int, what: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 15:
        raise ValueError(f"Enter the {what} as a whole number.")
    number = int(text)
    if not low <= number <= high:
        raise ValueError(f"The {what} must be between {low:,} and {high:,}.")
    return number


def _check_row(row: RowIn, currency: str, pool_ids: set[int]) -> _Checked:
    checked = _Checked()
    name = row.name.strip()
    if not name or len(name) > 200 or _CONTROL.search(name):
        checked.errors["name"] = "Enter a name of 1 to 200 characters."
    sku = row.sku.strip()
    if not _SKU.fullmatch(sku):
        checked.errors["sku"] = "A SKU has 1 to 64 letters, digits, dots, dashes or underscores."
    checked.values.update(name=name, sku=sku, is_active=row.active)
    parts: list[tuple[str, Any]] = [
        ("price_minor", lambda: _amount(row.price, currency, required=True)),
        ("compare_at_minor", lambda: _amount(row.compare_at, currency, required=False)),
        (
            "weight_grams",
            lambda: (
                None if not row.weight.strip() else _whole(row.weight, 0, MAX_WEIGHT_GRAMS, "weight in grams")
            ),
        ),
        ("draw_per_unit", lambda: _whole(row.draw, 1, MAX_QUANTITY, "draw per unit")),
    ]
    form_names = {
        "price_minor": "price",
        "compare_at_minor": "compare_at",
        "weight_grams": "weight",
        "draw_per_unit": "draw",
    }
    for key, parse in parts:
        try:
            checked.values[key] = parse()
        except ValueError as exc:
            checked.errors[form_names[key]] = str(exc)
    if row.pool == NEW_POOL:
        checked.values["pool_id"] = None
    elif row.pool.isascii() and row.pool.isdigit() and int(row.pool) in pool_ids:
        checked.values["pool_id"] = int(row.pool)
    else:
        checked.errors["pool"] = "Choose one of this product's stock pools, or a new one."
    return checked


def _check_pools(
    pools: Sequence[PoolIn], current: dict[int, StockPool]
) -> tuple[dict[int, PoolChange], dict[int, dict[str, str]]]:
    changes: dict[int, PoolChange] = {}
    errors: dict[int, dict[str, str]] = {}
    for item in pools:
        pool = current.get(item.pool_id)
        if pool is None:
            errors.setdefault(item.pool_id, {})["on_hand"] = "Not a stock pool of this product."
            continue
        try:
            on_hand = _whole(item.on_hand, 0, MAX_QUANTITY, "count on hand")
        except ValueError as exc:
            errors.setdefault(item.pool_id, {})["on_hand"] = str(exc)
            continue
        if item.unit not in _UNITS:
            errors.setdefault(item.pool_id, {})["unit"] = "Count in pieces or grams."
            continue
        typed = item.on_hand.strip() != item.seen.strip()
        if (typed and on_hand != pool.on_hand) or item.unit != pool.unit:
            changes[item.pool_id] = PoolChange(on_hand=on_hand if typed else pool.on_hand, unit=item.unit)
    return changes, errors


def _pool_errors(exc: BelowReserved) -> dict[int, dict[str, str]]:
    errors: dict[int, dict[str, str]] = {}
    for detail in exc.details:
        _, pool_id, name = str(detail["field"]).split(".")
        errors.setdefault(int(pool_id), {})[name] = str(detail["message"])
    return errors


def grid_of(product: Product, rows: Sequence[tuple[ProductVariant, StockPool]]) -> Grid:
    currency = product.currency
    pools: dict[int, StockPool] = {}
    members: dict[int, list[int]] = {}
    variants = []
    for variant, pool in rows:
        pools[pool.id] = pool
        members.setdefault(pool.id, []).append(variant.id)
        variants.append(
            GridVariant(
                id=variant.id,
                name=variant.name,
                sku=variant.sku,
                options={str(k): str(v) for k, v in (variant.options or {}).items()},
                price=money_string(variant.price_minor, currency) or "",
                compare_at=money_string(variant.compare_at_minor, currency) or "",
                weight="" if variant.weight_grams is None else str(variant.weight_grams),
                draw=variant.draw_per_unit,
                pool_id=pool.id,
                active=variant.is_active,
                default=variant.is_default,
                can_sell=units_available(pool.on_hand, pool.reserved, variant.draw_per_unit),
            )
        )
    return Grid(
        product_id=product.id,
        product_name=product.name,
        currency=currency,
        variants=variants,
        pools=[
            GridPool(
                id=pool.id,
                name=pool.name,
                unit=pool.unit,
                on_hand=pool.on_hand,
                reserved=pool.reserved,
                available=units_available(pool.on_hand, pool.reserved),
                variant_ids=members[pool.id],
            )
            for pool in pools.values()
        ],
    )


def _variant_label(variant: ProductVariant) -> str:
    return f"{variant.sku} ({variant.name})"


_AUDITED = ("name", "sku", "price_minor", "compare_at_minor", "weight_grams", "draw_per_unit", "pool_id")


class VariantGrid:
    async def grid(self, session: AsyncSession, product_id: int) -> Grid:
        """The product's variants in position order with their pools: two statements."""
        repo = CatalogRepository(session)
        product = await product_or_not_found(repo, product_id)
        return grid_of(product, await repo.variants_with_pools(product.id))

    async def save(self, session: AsyncSession, product_id: int, data: GridIn, actor: Actor) -> int:
        """Write the grid (see the module's docstring); the number of variants and pools changed.

        Raises ``GridInvalid`` (nothing written) or ``Conflict`` when the product's variants are not the
        ones the form was drawn with."""
        repo = CatalogRepository(session)
        product = await product_or_not_found(repo, product_id)
        current = await repo.variants_with_pools(product.id)
        variants = {variant.id: variant for variant, _ in current}
        pools = {pool.id: pool for _, pool in current}
        if sorted(row.variant_id for row in data.rows) != sorted(variants):
            raise Conflict(
                "The variants of this product changed since the page was opened: reload it and make your "
                "changes again."
            )
        checked = {row.variant_id: _check_row(row, product.currency, set(pools)) for row in data.rows}
        row_errors = {vid: c.errors for vid, c in checked.items() if c.errors}
        general = self._check_default(data, checked)
        await self._check_skus(session, product.id, variants, checked, row_errors)
        pool_changes, pool_errors = _check_pools(data.pools, pools)
        async with session.begin_nested():
            locked = await inventory.lock_pools(session, list(pool_changes))
            try:
                await inventory.set_counts(
                    session, locked, pool_changes, reason=STOCK_REASON, actor_user_id=actor.user_id
                )
            except BelowReserved as exc:
                for pool_id, fields in _pool_errors(exc).items():
                    pool_errors.setdefault(pool_id, {}).update(fields)
            if row_errors or pool_errors or general:
                raise GridInvalid(row_errors, pool_errors, general)
            entries = await self._write(session, product, variants, checked, data.default_id, actor)
            for pool_id, change in pool_changes.items():
                old = locked[pool_id]
                entries.append(
                    (
                        "stock_pool.counted",
                        AuditedObject(type="stock_pool", id=pool_id, label=old.name),
                        diff(
                            {"on_hand": old.on_hand, "unit": old.unit},
                            {"on_hand": change.on_hand, "unit": change.unit},
                        ),
                    )
                )
            await audit.record_many(session, actor, entries)
        return len(entries)

    def _check_default(self, data: GridIn, checked: dict[int, _Checked]) -> list[str]:
        if data.default_id is None or data.default_id not in checked:
            return ["Choose the default variant: the one a shopper sees first."]
        if not checked[data.default_id].values.get("is_active"):
            checked[data.default_id].errors["default"] = "The default variant must be active."
        return []

    async def _check_skus(
        self,
        session: AsyncSession,
        product_id: int,
        variants: dict[int, ProductVariant],
        checked: dict[int, _Checked],
        row_errors: dict[int, dict[str, str]],
    ) -> None:
        seen: dict[str, int] = {}
        for vid, item in checked.items():
            sku = str(item.values["sku"]).lower()
            if "sku" in item.errors:
                continue
            if sku in seen:
                for twin in (seen[sku], vid):
                    row_errors.setdefault(twin, checked[twin].errors)["sku"] = "Two rows have this SKU."
            seen.setdefault(sku, vid)
        # Only a SKU this product did not have already can clash with another product's.
        current = {variant.sku.lower() for variant in variants.values()}
        fresh = [sku for sku in seen if sku not in current]
        taken = await GridRepository(session).skus_of_other_products(product_id, fresh)
        for sku in taken:
            vid = seen[sku]
            row_errors.setdefault(vid, checked[vid].errors)["sku"] = "Another product has this SKU."

    async def _write(
        self,
        session: AsyncSession,
        product: Product,
        variants: dict[int, ProductVariant],
        checked: dict[int, _Checked],
        default_id: int | None,
        actor: Actor,
    ) -> list[AuditEntryIn]:
        """Write the changed rows; the audit entries of the changes."""
        grid_repo = GridRepository(session)
        now = utcnow()
        rows: list[dict[str, Any]] = []
        entries: list[AuditEntryIn] = []
        for vid, item in checked.items():
            values = dict(item.values, is_default=vid == default_id)
            if values["pool_id"] is None:
                opened = await inventory.open_pool(
                    session,
                    name=f"{product.name} / {values['sku']}",
                    unit=StockUnit.PIECE,
                    on_hand=0,
                    low_stock_threshold=0,
                    reason="Opened in the variant editor",
                    actor_user_id=actor.user_id,
                )
                values["pool_id"] = opened.id
            variant = variants[vid]
            before = {name: getattr(variant, name) for name in values}
            if before == values:
                continue
            rows.append({"id": vid, **values, "updated_at": now})
            changes = diff({k: before[k] for k in (*_AUDITED, "is_active", "is_default")}, values)
            entries.append(
                (
                    "variant.updated",
                    AuditedObject(type="variant", id=vid, label=_variant_label(variant)),
                    changes,
                )
            )
        await self._free_swapped_skus(grid_repo, variants, rows)
        await grid_repo.update_variants(rows)
        moved_from = {variants[row["id"]].pool_id for row in rows} - {row["pool_id"] for row in rows}
        if moved_from:
            await inventory.drop_unused_pools(session, sorted(moved_from))
        if rows:
            await CatalogRepository(session).refresh_price_range(product.id)
        return entries

    async def _free_swapped_skus(
        self, grid_repo: GridRepository, variants: dict[int, ProductVariant], rows: list[dict[str, Any]]
    ) -> None:
        """Two rows trading SKUs would clash half-way through the batch: those rows first take a
        placeholder SKU (the row's id, which no real SKU of this form can be) in one batch of their own."""
        old = {variant.sku.lower(): vid for vid, variant in variants.items()}
        trading = [
            row
            for row in rows
            if str(row["sku"]).lower() != variants[row["id"]].sku.lower()
            and old.get(str(row["sku"]).lower(), row["id"]) != row["id"]
        ]
        if trading:
            await grid_repo.update_variants([{"id": row["id"], "sku": f"~{row['id']}"} for row in trading])


variant_grid = VariantGrid()
