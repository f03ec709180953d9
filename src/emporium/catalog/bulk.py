"""Bulk edits of products from the back office: publish, archive, feature, unfeature, move to a category, and
change prices (catalog/price_change.py), on products staff ticked or on every product of a filter.

Every edit is previewed first (how many products, and before → after for the first of them), then applied.
Ticked products (at most ``SELECTION_LIMIT``) are changed in the request; a whole filter is changed by a
background job (catalog/tasks.py: one ``run_batch`` per transaction) in batches of ``BATCH`` products walked
by id, each batch committed with the edit's progress, so staff watch it advance and a retried job carries on
where it stopped. Every product
whose values change gets its own audit entry in the transaction that changes it; a product already as
asked is left alone. The catalog's cache stamp changes with every commit to the products tables
(core/changes.py), so the shop shows the new prices at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import audit
from emporium.catalog.bulk_repository import BulkRepository
from emporium.catalog.errors import CatalogError
from emporium.catalog.models import BulkEditStatus, ProductBulkEdit, ProductStatus
from emporium.catalog.price_change import PriceChange
from emporium.catalog.repository import CatalogRepository
from emporium.catalog.schemas import StaffProductFilters
from emporium.catalog.staff_list_repository import StaffListRepository
from emporium.core.db import utcnow
from emporium.core.errors import EmporiumError, NotFound, ValidationFailed
from emporium.core.jobs import enqueue
from emporium.core.money import from_minor

BulkAction = Literal["publish", "archive", "feature", "unfeature", "move", "price"]
ACTION_NAMES: dict[str, str] = {
    "publish": "Publish",
    "archive": "Archive",
    "feature": "Feature",
    "unfeature": "Stop featuring",
    "move": "Move to a category",
    "price": "Change prices",
}
BULK_EDIT_JOB = "catalog.bulk_edit"
SELECTION_LIMIT = 500
BATCH = 500
PREVIEW_ROWS = 50
_FLAGS: dict[str, tuple[str, object]] = {
    "publish": ("status", ProductStatus.ACTIVE.value),
    "archive": ("status", ProductStatus.ARCHIVED.value),
    "feature": ("is_featured", True),
    "unfeature": ("is_featured", False),
}


@dataclass(frozen=True)
class BulkRequest:
    """What to do: an action and its values (the category to move to, the price change)."""

    action: BulkAction
    category_id: int | None = None
    price: PriceChange | None = None

    def params(self) -> dict[str, Any]:
        return {
            "category_id": self.category_id,
            "price": None if self.price is None else self.price.params(),
        }

    @classmethod
    def from_row(cls, edit: ProductBulkEdit) -> BulkRequest:
        price = edit.params.get("price")
        return cls(
            action=edit.action,  # type: ignore[arg-type]
            category_id=edit.params.get("category_id"),
            price=None if price is None else PriceChange.from_params(price),
        )

    def describe(self, currency: str) -> str:
        if self.price is not None:
            return f"Change prices {self.price.describe(currency)}"
        return ACTION_NAMES[self.action]


@dataclass(frozen=True)
class Change:
    """One product before → after, as the preview and the audit log show it."""

    product_id: int
    name: str
    fields: dict[str, tuple[object, object]]


@dataclass(frozen=True)
class Preview:
    count: int
    changes: list[Change] = field(default_factory=list)
    # Products of the preview that are already as asked (nothing would change for them).
    unchanged: int = 0


def filters_to_json(filters: StaffProductFilters) -> dict[str, Any]:
    return {
        "q": filters.q,
        "status": filters.status,
        "category_id": filters.category_id,
        "brand_id": filters.brand_id,
        "stock": filters.stock,
        "featured": filters.featured,
    }


def filters_from_json(data: dict[str, Any]) -> StaffProductFilters:
    return StaffProductFilters(
        q=data.get("q"),
        status=data.get("status"),
        category_id=data.get("category_id"),
        brand_id=data.get("brand_id"),
        stock=data.get("stock"),
        featured=data.get("featured"),
    )


def _money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else str(from_minor(minor, currency))


class BulkEditor:
    async def check(self, session: AsyncSession, request: BulkRequest) -> None:
        """The action's own values: a category that exists, a price change with its numbers."""
        if request.action == "move":
            if request.category_id is None:
                raise ValidationFailed(
                    "Choose the category to move the products to.",
                    details=[{"field": "category_id", "message": "Choose a category."}],
                )
            if await CatalogRepository(session).category(request.category_id) is None:
                raise ValidationFailed(
                    "That category does not exist (any more): choose another.",
                    code=CatalogError.UNKNOWN_CATEGORY,
                    details=[{"field": "category_id", "message": "No such category."}],
                )
        if request.action == "price" and request.price is None:
            raise ValidationFailed("Say how the prices change.")

    async def changes(
        self, session: AsyncSession, request: BulkRequest, product_ids: Sequence[int], currency: str
    ) -> list[Change]:
        """What the request changes on these products (those already as asked are left out)."""
        repo = BulkRepository(session)
        products = await repo.products(product_ids)
        if request.price is not None:
            return await self._price_changes(repo, request.price, products, currency)
        if request.action == "move":
            category = await CatalogRepository(session).category(request.category_id or 0)
            target = (request.category_id, category.name if category else None)
            return [
                Change(row.id, row.name, {"category": (row.category_name, target[1])})
                for row in products
                if row.category_id != target[0]
            ]
        name, value = _FLAGS[request.action]
        return [
            Change(row.id, row.name, {name: (getattr(row, name), value)})
            for row in products
            if getattr(row, name) != value
        ]

    async def _price_changes(
        self,
        repo: BulkRepository,
        price: PriceChange,
        products: Sequence[Row[int, str, str, bool, int | None, str, str]],
        currency: str,
    ) -> list[Change]:
        names = {row.id: row.name for row in products}
        fields: dict[int, dict[str, tuple[object, object]]] = defaultdict(dict)
        for variant in await repo.variants(list(names)):
            new_price, new_compare = price.prices(variant.price_minor, variant.compare_at_minor)
            changed = fields[variant.product_id]
            changed[f"price {variant.sku}"] = (
                _money(variant.price_minor, currency),
                _money(new_price, currency),
            )
            if variant.compare_at_minor is not None:
                changed[f"compare_at {variant.sku}"] = (
                    _money(variant.compare_at_minor, currency),
                    _money(new_compare, currency),
                )
        return [Change(pid, names[pid], fields[pid]) for pid in names if fields.get(pid)]

    async def preview_selection(
        self, session: AsyncSession, request: BulkRequest, product_ids: Sequence[int], currency: str
    ) -> Preview:
        await self.check(session, request)
        ids = await self._known(session, product_ids)
        if request.price is not None:
            await self._check_prices(session, request.price, ids, currency)
        changes = await self.changes(session, request, ids, currency)
        return Preview(count=len(ids), changes=changes[:PREVIEW_ROWS], unchanged=len(ids) - len(changes))

    async def preview_filter(
        self, session: AsyncSession, request: BulkRequest, filters: StaffProductFilters, currency: str
    ) -> Preview:
        await self.check(session, request)
        listing = StaffListRepository(session)
        count = await listing.count(filters)
        if request.price is not None:
            request.price.check(*await listing.price_extremes(filters), currency)
        first = await listing.ids_after(filters, 0, PREVIEW_ROWS)
        changes = await self.changes(session, request, first, currency)
        return Preview(count=count, changes=changes, unchanged=len(first) - len(changes))

    async def _known(self, session: AsyncSession, product_ids: Sequence[int]) -> list[int]:
        wanted = sorted(set(product_ids))
        if not wanted:
            raise ValidationFailed("Tick the products to change, or choose every product of the filter.")
        if len(wanted) > SELECTION_LIMIT:
            raise ValidationFailed(
                f"Tick at most {SELECTION_LIMIT} products, or choose every product of the filter."
            )
        ids = await StaffListRepository(session).known_ids(wanted)
        if len(ids) != len(wanted):
            raise NotFound(
                "Some of the ticked products no longer exist: reload the list and tick them again.",
                code=CatalogError.PRODUCT_NOT_FOUND,
            )
        return ids

    async def _check_prices(
        self, session: AsyncSession, price: PriceChange, product_ids: Sequence[int], currency: str
    ) -> None:
        variants = await BulkRepository(session).variants(product_ids)
        prices = [v.price_minor for v in variants]
        tops = [v.compare_at_minor or v.price_minor for v in variants] + prices
        price.check(min(prices, default=None), max(tops, default=None), currency)

    async def apply(
        self,
        session: AsyncSession,
        actor: Actor,
        request: BulkRequest,
        product_ids: Sequence[int],
        currency: str,
    ) -> int:
        """Change these products (at most ``BATCH`` of them) now, one audit entry each; how many changed."""
        if request.price is not None:
            await self._check_prices(session, request.price, product_ids, currency)
        changes = await self.changes(session, request, product_ids, currency)
        if not changes:
            return 0
        changed_ids = [change.product_id for change in changes]
        repo = BulkRepository(session)
        if request.price is not None:
            await self._write_prices(repo, request.price, changed_ids)
        elif request.action == "move":
            await repo.set_products(changed_ids, {"category_id": request.category_id})
        else:
            name, value = _FLAGS[request.action]
            await repo.set_products(changed_ids, {name: value})
        for change in changes:
            audit.record(
                session,
                actor,
                "product.bulk_updated",
                AuditedObject(type="product", id=change.product_id, label=change.name),
                change.fields,
            )
        return len(changes)

    async def _write_prices(self, repo: BulkRepository, price: PriceChange, product_ids: list[int]) -> None:
        rows = []
        for variant in await repo.variants(product_ids):
            new_price, new_compare = price.prices(variant.price_minor, variant.compare_at_minor)
            rows.append({"id": variant.id, "price_minor": new_price, "compare_at_minor": new_compare})
        await repo.set_prices(rows)
        await repo.refresh_price_ranges(product_ids)

    async def apply_selection(
        self,
        session: AsyncSession,
        actor: Actor,
        request: BulkRequest,
        product_ids: Sequence[int],
        currency: str,
    ) -> int:
        await self.check(session, request)
        ids = await self._known(session, product_ids)
        return await self.apply(session, actor, request, ids, currency)

    async def start(
        self,
        session: AsyncSession,
        actor: Actor,
        request: BulkRequest,
        filters: StaffProductFilters,
        currency: str,
    ) -> ProductBulkEdit:
        """Check the edit on the whole filter, then leave it to a job; the edit row reports its progress."""
        await self.check(session, request)
        listing = StaffListRepository(session)
        if request.price is not None:
            request.price.check(*await listing.price_extremes(filters), currency)
        total = await listing.count(filters)
        if total == 0:
            raise ValidationFailed("No product matches this filter any more: nothing to change.")
        edit = ProductBulkEdit(
            action=request.action,
            params=request.params() | {"currency": currency},
            filters=filters_to_json(filters),
            status=BulkEditStatus.PENDING,
            total=total,
            processed=0,
            changed=0,
            last_id=0,
            actor_user_id=actor.user_id,
            actor_email=actor.email,
            actor_ip=actor.ip_address,
        )
        BulkRepository(session).add_edit(edit)
        await session.flush()
        job = enqueue(session, BULK_EDIT_JOB, {"edit_id": edit.id})
        await session.flush()
        edit.job_id = job.id
        return edit

    async def edit(self, session: AsyncSession, edit_id: int) -> ProductBulkEdit:
        found = await BulkRepository(session).edit(edit_id)
        if found is None:
            raise NotFound("This bulk change does not exist.")
        return found

    async def stopped_reason(self, session: AsyncSession, edit: ProductBulkEdit) -> str | None:
        """Why an edit that is not finished will not go on by itself (its job died or was discarded), or
        None while it is waiting or running. Retrying the job from the jobs screen carries it on."""
        if edit.status not in (BulkEditStatus.PENDING, BulkEditStatus.RUNNING) or edit.job_id is None:
            return None
        stopped, error = await BulkRepository(session).job_stopped(edit.job_id)
        if not stopped:
            return None
        return f"The change stopped after {edit.processed:,} products" + (f": {error}" if error else ".")

    async def run_batch(self, session: AsyncSession, edit_id: int) -> bool:
        """Change the next batch of the edit's products; False once there is nothing left to do."""
        edit = await BulkRepository(session).edit(edit_id, lock=True)
        if edit is None or edit.status in (BulkEditStatus.DONE, BulkEditStatus.FAILED):
            return False
        filters = filters_from_json(edit.filters)
        ids = await StaffListRepository(session).ids_after(filters, edit.last_id, BATCH)
        if not ids:
            edit.status, edit.finished_at = BulkEditStatus.DONE, utcnow()
            return False
        actor = Actor(user_id=edit.actor_user_id, email=edit.actor_email, ip_address=edit.actor_ip)
        request = BulkRequest.from_row(edit)
        try:
            async with session.begin_nested():
                await self.check(session, request)
                changed = await self.apply(session, actor, request, ids, edit.params["currency"])
        except EmporiumError as exc:
            edit.status, edit.finished_at = BulkEditStatus.FAILED, utcnow()
            edit.error = f"Stopped after {edit.processed} products: {exc.message}"
            return False
        edit.status = BulkEditStatus.RUNNING
        edit.last_id = ids[-1]
        edit.processed += len(ids)
        edit.changed += changed
        return True


bulk_editor = BulkEditor()
