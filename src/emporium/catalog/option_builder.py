"""The option builder of the back office's variant editor: option names with their values (Size: S, M, L,
XL; Colour: Red, Navy) turned into one variant per combination.

There is no table of options: like the storefront's pickers, the options are read from the active
variants in position order. Option names are kept in lower case (the storefront capitalises them);
values as typed. Saving a new set of options:

- a new value adds its combinations (an inactive variant with exactly that combination, left by an
  earlier removal, is made active again rather than duplicated);
- a removed value removes its variants, only once staff have confirmed the list (``plan`` gives it):
  a variant that was never sold is deleted with its own pool; one that order lines point at cannot be
  deleted (ON DELETE RESTRICT keeps order history whole) and is deactivated instead;
- a new option gives the existing variants its first value; an option may be dropped once a single
  value is left (the variants then simply lose it).

New variants get their own empty pool counted in pieces, the price given, a SKU made of the product's
slug and the values (made unique), and a name of the product's name and the values.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import audit
from emporium.catalog.grid_repository import GridRepository
from emporium.catalog.models import Product, ProductVariant
from emporium.catalog.repository import CatalogRepository
from emporium.catalog.schemas import VariantCreate
from emporium.catalog.taxonomy import slugify
from emporium.catalog.variant_grid import Grid
from emporium.catalog.variants import product_or_not_found, variant_editor
from emporium.core.db import utcnow
from emporium.core.errors import ValidationFailed
from emporium.core.money import from_minor

MAX_OPTIONS = 3
MAX_VALUES = 50
# The most combinations the editor makes for one product (the grid is edited in one page).
MAX_COMBINATIONS = 250
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Outcome = Literal["deleted", "deactivated"]


@dataclass(frozen=True)
class OptionSpec:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Removal:
    variant_id: int
    sku: str
    name: str
    outcome: Outcome


@dataclass
class OptionPlan:
    product_id: int
    product_name: str
    specs: list[OptionSpec]
    create: list[dict[str, str]] = field(default_factory=list)
    reactivate: list[int] = field(default_factory=list)
    remove: list[Removal] = field(default_factory=list)
    # Variant id -> its options after the change, for those whose options change (a new or dropped name).
    rewrite: dict[int, dict[str, str]] = field(default_factory=dict)


def options_of(variants: Sequence[ProductVariant]) -> list[OptionSpec]:
    """Option names and values in the order the variants (position order) first use them; the active
    variants' only, or every variant's when none is active."""
    shown = [v for v in variants if v.is_active] or list(variants)
    groups: dict[str, list[str]] = {}
    for variant in sorted(shown, key=lambda v: (v.position, v.id)):
        for name, value in (variant.options or {}).items():
            values = groups.setdefault(str(name).lower(), [])
            if str(value) not in values:
                values.append(str(value))
    return [OptionSpec(name, tuple(values)) for name, values in groups.items()]


def options_of_grid(grid: Grid) -> list[OptionSpec]:
    """``options_of`` for a grid already read (its variants are in position order)."""
    shown = [v for v in grid.variants if v.active] or grid.variants
    groups: dict[str, list[str]] = {}
    for variant in shown:
        for name, value in variant.options.items():
            values = groups.setdefault(name.lower(), [])
            if value not in values:
                values.append(value)
    return [OptionSpec(name, tuple(values)) for name, values in groups.items()]


def parse_specs(names: Sequence[str], values: Sequence[str]) -> list[OptionSpec]:
    """The builder's rows (a name and its values separated by commas); blank rows are skipped. Raises
    ValidationFailed naming the row (``option.{i}.name`` / ``.values``)."""
    errors: list[dict[str, str]] = []
    specs: list[OptionSpec] = []
    for index, (raw_name, raw_values) in enumerate(zip(names, values, strict=True)):
        name = " ".join(raw_name.split()).lower()
        items = [" ".join(v.split()) for v in raw_values.split(",")]
        items = [v for v in items if v]
        if not name and not items:
            continue
        problem = _spec_problem(name, items, [s.name for s in specs])
        if problem:
            errors.append({"field": f"option.{index}.{problem[0]}", "message": problem[1]})
            continue
        specs.append(OptionSpec(name, tuple(items)))
    if len(specs) > MAX_OPTIONS:
        errors.append({"field": "option", "message": f"A product has at most {MAX_OPTIONS} options."})
    combinations = 1
    for spec in specs:
        combinations *= len(spec.values)
    if specs and combinations > MAX_COMBINATIONS:
        errors.append(
            {
                "field": "option",
                "message": f"These options make {combinations:,} variants; at most {MAX_COMBINATIONS} "
                "can be edited together.",
            }
        )
    if errors:
        raise ValidationFailed("The options need correcting; nothing was changed.", details=errors)
    return specs


def _spec_problem(name: str, items: list[str], taken: list[str]) -> tuple[str, str] | None:
    if not name or len(name) > 40 or _CONTROL.search(name):
        return "name", "Name the option in 1 to 40 characters (Size, Colour, Weight...)."
    if name in taken:
        return "name", f"The option {name!r} is listed twice."
    if not items:
        return "values", f"Give {name!r} at least one value."
    if len(items) > MAX_VALUES:
        return "values", f"An option has at most {MAX_VALUES} values."
    for value in items:
        if len(value) > 100 or _CONTROL.search(value):
            return "values", "A value has at most 100 characters and no control characters."
    if len({v.lower() for v in items}) != len(items):
        return "values", f"A value of {name!r} is listed twice."
    return None


def _code(value: str) -> str:
    return slugify(value, "x").upper()[:12].strip("-") or "X"


def variant_name(product_name: str, combination: dict[str, str]) -> str:
    values = " / ".join(combination.values())
    return f"{product_name} {values}"[:200] if values else product_name


def _refuse_dropping_several_values(before: dict[str, tuple[str, ...]], names: list[str]) -> None:
    """An option goes only once one value is left: its variants then simply lose the name."""
    for name in before:
        if name not in names and len(before[name]) > 1:
            raise ValidationFailed(
                f"To remove the option {name!r}, first remove all but one of its values.",
                details=[{"field": "option", "message": f"{name!r} still has several values."}],
            )


async def _place_variants(
    grid_repo: GridRepository,
    plan: OptionPlan,
    variants: Sequence[ProductVariant],
    before: dict[str, tuple[str, ...]],
) -> set[tuple[str, ...]]:
    """Keep, rewrite, reactivate or remove each existing variant for the plan's options; the combinations
    the kept variants already hold."""
    specs = plan.specs
    names = [spec.name for spec in specs]
    wanted = set(itertools.product(*(spec.values for spec in specs)))
    added = {spec.name: set(spec.values) - set(before.get(spec.name, ())) for spec in specs}
    first = {spec.name: spec.values[0] for spec in specs}
    found: set[tuple[str, ...]] = set()
    for variant in variants:
        after = _options_after(variant, names, first)
        combo = tuple(after.values())
        if after != dict(variant.options or {}):
            plan.rewrite[variant.id] = after
        if combo in wanted and combo not in found:
            found.add(combo)
            if not variant.is_active and any(v in added[n] for n, v in after.items()):
                plan.reactivate.append(variant.id)
            continue
        await _plan_removal(grid_repo, plan, variant)
    return found


def _options_after(variant: ProductVariant, names: list[str], first: dict[str, str]) -> dict[str, str]:
    """The variant's options under the new names: a name it lacks takes that option's first value."""
    options = {str(k).lower(): str(v) for k, v in (variant.options or {}).items()}
    return {name: options.get(name, first[name]) for name in names}


async def _plan_removal(grid_repo: GridRepository, plan: OptionPlan, variant: ProductVariant) -> None:
    """A variant no combination keeps: deleted if no order holds it, else deactivated (if still active)."""
    deletable = await grid_repo.can_delete(variant.id)
    if variant.is_active or deletable:
        outcome: Outcome = "deleted" if deletable else "deactivated"
        plan.remove.append(Removal(variant.id, variant.sku, variant.name, outcome))
    plan.rewrite.pop(variant.id, None)


class OptionBuilder:
    async def current(self, session: AsyncSession, product_id: int) -> list[OptionSpec]:
        repo = CatalogRepository(session)
        product = await product_or_not_found(repo, product_id)
        return options_of([v for v, _ in await repo.variants_with_pools(product.id)])

    async def plan(self, session: AsyncSession, product_id: int, specs: list[OptionSpec]) -> OptionPlan:
        """What saving ``specs`` would do; nothing is written (a removal is tried in a savepoint that is
        rolled back, to tell a deletion from a deactivation)."""
        repo = CatalogRepository(session)
        product = await product_or_not_found(repo, product_id)
        variants = [v for v, _ in await repo.variants_with_pools(product.id)]
        before = {spec.name: spec.values for spec in options_of(variants)}
        names = [spec.name for spec in specs]
        _refuse_dropping_several_values(before, names)
        plan = OptionPlan(product.id, product.name, specs)
        found = await _place_variants(GridRepository(session), plan, variants, before)
        ordered = itertools.product(*(spec.values for spec in specs))
        plan.create = [dict(zip(names, combo, strict=True)) for combo in ordered if combo not in found]
        if not specs:
            plan.create = [] if variants else [{}]
        return plan

    async def apply(
        self, session: AsyncSession, plan: OptionPlan, price: Decimal | None, actor: Actor
    ) -> OptionPlan:
        """Carry out ``plan`` (made in this transaction by ``plan``); the outcome of each removal may
        differ from the plan's if an order arrived meanwhile."""
        if plan.create and price is None:
            raise ValidationFailed(
                "Give a price for the new variants.",
                details=[{"field": "price", "message": "Enter the new variants' price."}],
            )
        repo = CatalogRepository(session)
        product = await product_or_not_found(repo, plan.product_id)
        done: list[Removal] = []
        for removal in plan.remove:
            outcome = await variant_editor.delete(session, removal.variant_id)
            done.append(Removal(removal.variant_id, removal.sku, removal.name, outcome))
            audit.record(
                session,
                actor,
                f"variant.{outcome}",
                AuditedObject(type="variant", id=removal.variant_id, label=f"{removal.sku} ({removal.name})"),
            )
        plan.remove = done
        await self._rewrite(session, product, plan, actor)
        await self._create(session, repo, product, plan, price, actor)
        await self._order(session, repo, product, plan)
        await repo.refresh_price_range(product.id)
        return plan

    async def _rewrite(self, session: AsyncSession, product: Product, plan: OptionPlan, actor: Actor) -> None:
        rows = await CatalogRepository(session).variants_with_pools(product.id)
        variants = {variant.id: variant for variant, _ in rows}
        now = utcnow()
        updates = []
        for vid, options in plan.rewrite.items():
            variant = variants[vid]
            row: dict[str, object] = {"id": vid, "options": options, "updated_at": now}
            if variant.name in (variant_name(product.name, dict(variant.options or {})), variant.sku):
                row["name"] = variant_name(product.name, options)
            else:
                row["name"] = variant.name
            row["is_active"] = variant.is_active or vid in plan.reactivate
            updates.append(row)
            audit.record(
                session,
                actor,
                "variant.updated",
                AuditedObject(type="variant", id=vid, label=f"{variant.sku} ({variant.name})"),
                {"options": (_text(variant.options), _text(options))},
            )
        for vid in plan.reactivate:
            if vid not in plan.rewrite:
                updates.append(
                    {
                        "id": vid,
                        "options": dict(variants[vid].options or {}),
                        "updated_at": now,
                        "name": variants[vid].name,
                        "is_active": True,
                    }
                )
                audit.record(
                    session,
                    actor,
                    "variant.updated",
                    AuditedObject(type="variant", id=vid, label=variants[vid].sku),
                    {"is_active": (False, True)},
                )
        await GridRepository(session).update_variants(updates)

    async def _create(
        self,
        session: AsyncSession,
        repo: CatalogRepository,
        product: Product,
        plan: OptionPlan,
        price: Decimal | None,
        actor: Actor,
    ) -> None:
        if not plan.create or price is None:
            return
        skus = await self._free_skus(repo, product, plan.create)
        first = not await repo.has_variants(product.id)
        for index, (combination, sku) in enumerate(zip(plan.create, skus, strict=True)):
            data = VariantCreate(
                sku=sku,
                name=variant_name(product.name, combination),
                options=combination,
                price=price,
                is_default=first and index == 0,
            )
            variant = await variant_editor.add(
                session, repo, product, data, actor.user_id, first=first and index == 0
            )
            audit.record(
                session,
                actor,
                "variant.created",
                AuditedObject(type="variant", id=variant.id, label=f"{variant.sku} ({variant.name})"),
                {"price": (None, str(price)), "options": (None, _text(combination))},
            )

    async def _free_skus(
        self, repo: CatalogRepository, product: Product, combinations: list[dict[str, str]]
    ) -> list[str]:
        base = product.slug.upper()[:30].strip("-") or f"P{product.id}"
        wanted = [
            "-".join([base, *(_code(value) for value in combo.values())])[:60] for combo in combinations
        ]
        taken = {sku.lower() for sku in await repo.skus_taken(wanted)}
        free = []
        for sku in wanted:
            candidate, suffix = sku, 2
            while candidate.lower() in taken:
                candidate, suffix = f"{sku}-{suffix}", suffix + 1
            taken.add(candidate.lower())
            free.append(candidate)
        return free

    async def _order(
        self, session: AsyncSession, repo: CatalogRepository, product: Product, plan: OptionPlan
    ) -> None:
        """Positions follow the options' order (S/Red, S/Navy, M/Red...), unmatched variants last."""
        rows = await repo.variants_with_pools(product.id)
        rank = {
            tuple(combo): index
            for index, combo in enumerate(itertools.product(*(spec.values for spec in plan.specs)))
        }
        names = [spec.name for spec in plan.specs]

        def key(variant: ProductVariant) -> tuple[int, int, int]:
            combo = tuple(str((variant.options or {}).get(name)) for name in names)
            return (rank.get(combo, len(rank)), variant.position, variant.id)

        ordered = sorted((variant for variant, _ in rows), key=key)
        updates = [
            {"id": variant.id, "position": position}
            for position, variant in enumerate(ordered)
            if variant.position != position
        ]
        await GridRepository(session).update_variants(updates)


def _text(options: object) -> str:
    if not isinstance(options, dict) or not options:
        return ""
    return ", ".join(f"{k}: {v}" for k, v in options.items())


def price_of(variants: Sequence[ProductVariant], currency: str) -> Decimal | None:
    """The default variant's price (the builder's suggestion for new variants)."""
    default = next((v for v in variants if v.is_default), variants[0] if variants else None)
    return None if default is None else from_minor(default.price_minor, currency)


option_builder = OptionBuilder()
