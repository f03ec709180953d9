"""Inventory API (seed 003): /api/v1/inventory/*. Every route needs the ``inventory:write`` permission."""

from __future__ import annotations

from fastapi import APIRouter, status

from emporium.core.errors import errors_doc
from emporium.core.pagination import Page
from emporium.core.params import API_PREFIX, IdPath
from emporium.core.responses import Envelope, ListEnvelope, Pagination, ok
from emporium.core.session import DbSession
from emporium.inventory import schemas
from emporium.inventory.auth import InventoryWriter as Staff
from emporium.inventory.service import inventory

router = APIRouter(prefix=API_PREFIX, tags=["inventory"])


@router.get("/inventory/product/{product_id}", responses=errors_doc(401, 403, 404, 422))
async def product_inventory(
    product_id: IdPath, staff: Staff, session: DbSession
) -> Envelope[schemas.ProductInventory]:
    """Each variant of the product with its pool: on hand, reserved, available and units still sellable."""
    return ok(await inventory.product_inventory(session, product_id))


@router.put("/inventory/product/{product_id}", responses=errors_doc(401, 403, 404, 409, 422))
async def set_product_inventory(
    product_id: IdPath, data: schemas.InventoryUpdate, staff: Staff, session: DbSession
) -> Envelope[schemas.ProductInventory]:
    """Set the on-hand count of the product's pools (a stock count). Never below what is reserved."""
    return ok(await inventory.set_product_stock(session, product_id, data, staff.id), "Stock counts updated.")


@router.post(
    "/inventory/pools/{pool_id}/adjustments",
    status_code=status.HTTP_201_CREATED,
    responses=errors_doc(401, 403, 404, 409, 422),
)
async def adjust_pool(
    pool_id: IdPath, data: schemas.AdjustmentCreate, staff: Staff, session: DbSession
) -> Envelope[schemas.AdjustmentRead]:
    """Add to or take from a pool; refused (409) when it would fall below what is reserved."""
    adjustment = await inventory.adjust(session, pool_id, data, staff.id)
    return ok(schemas.AdjustmentRead.model_validate(adjustment), "Stock adjusted.")


@router.get("/inventory/pools/{pool_id}/adjustments", responses=errors_doc(401, 403, 404, 422))
async def pool_adjustments(
    pool_id: IdPath, staff: Staff, session: DbSession, page: Page
) -> ListEnvelope[schemas.AdjustmentRead]:
    """The pool's history of changes, newest first."""
    items, total = await inventory.adjustments(session, pool_id, limit=page.limit, offset=page.offset)
    return ListEnvelope(
        data=[schemas.AdjustmentRead.model_validate(item) for item in items],
        pagination=Pagination.of(page.page, page.limit, total),
    )


@router.get("/inventory/low-stock", responses=errors_doc(401, 403, 422))
async def low_stock(staff: Staff, session: DbSession, page: Page) -> ListEnvelope[schemas.LowStockPool]:
    """Pools whose available stock is at or under their low-stock threshold, emptiest first."""
    items = await inventory.low_stock_pools(session, limit=page.limit, offset=page.offset)
    total = await inventory.count_low_stock_pools(session)
    return ListEnvelope(data=items, pagination=Pagination.of(page.page, page.limit, total))
