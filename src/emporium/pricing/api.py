"""Pricing API: staff maintain coupons (/admin/coupons), tax rates (/admin/tax-rates) and shipping
(/admin/shipping-zones, /admin/shipping-methods); shoppers read the shipping methods for a country."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from emporium.accounts.schemas import Country
from emporium.core.context import Ctx
from emporium.core.errors import errors_doc
from emporium.core.pagination import Page
from emporium.core.params import API_PREFIX, IdPath
from emporium.core.responses import Envelope, ListEnvelope, Pagination, ok
from emporium.core.session import DbSession
from emporium.pricing import schemas
from emporium.pricing.admin import coupon_read, method_read, pricing_admin, tax_read
from emporium.pricing.auth import CouponsWriter, SettingsManager
from emporium.pricing.service import pricing

router = APIRouter(prefix=API_PREFIX, tags=["pricing"])


@router.get("/shipping/methods", responses=errors_doc(422))
async def shipping_methods(
    ctx: Ctx, session: DbSession, country: Annotated[Country, Query(min_length=2, max_length=2)]
) -> Envelope[list[schemas.MethodRead]]:
    """The active methods that deliver to ``country`` (pick-up included), with their terms."""
    methods = await pricing.methods_serving(session, country)
    return ok([method_read(method, ctx.settings.currency) for method in methods])


# Coupons --------------------------------------------------------------------------------------------------


@router.get(
    "/admin/coupons", response_model=ListEnvelope[schemas.CouponRead], responses=errors_doc(401, 403, 422)
)
async def list_coupons(
    ctx: Ctx, session: DbSession, _staff: CouponsWriter, page: Page
) -> ListEnvelope[schemas.CouponRead]:
    coupons, total = await pricing_admin.coupons(session, limit=page.limit, offset=page.offset)
    return ListEnvelope(
        data=[coupon_read(c, ctx.settings.currency) for c in coupons],
        pagination=Pagination.of(page.page, page.limit, total),
    )


@router.post("/admin/coupons", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 403, 409, 422))
async def create_coupon(
    data: schemas.CouponIn, ctx: Ctx, session: DbSession, _staff: CouponsWriter
) -> Envelope[schemas.CouponRead]:
    coupon = await pricing_admin.create_coupon(session, ctx.settings, data)
    return ok(coupon_read(coupon, ctx.settings.currency), "Coupon created.")


@router.get("/admin/coupons/{coupon_id}", responses=errors_doc(401, 403, 404, 422))
async def get_coupon(
    coupon_id: IdPath, ctx: Ctx, session: DbSession, _staff: CouponsWriter
) -> Envelope[schemas.CouponRead]:
    return ok(coupon_read(await pricing_admin.coupon(session, coupon_id), ctx.settings.currency))


@router.put("/admin/coupons/{coupon_id}", responses=errors_doc(401, 403, 404, 409, 422))
async def update_coupon(
    coupon_id: IdPath, data: schemas.CouponIn, ctx: Ctx, session: DbSession, _staff: CouponsWriter
) -> Envelope[schemas.CouponRead]:
    coupon = await pricing_admin.update_coupon(session, ctx.settings, coupon_id, data)
    return ok(coupon_read(coupon, ctx.settings.currency))


@router.delete("/admin/coupons/{coupon_id}", responses=errors_doc(401, 403, 404, 422))
async def delete_coupon(
    coupon_id: IdPath, session: DbSession, _staff: CouponsWriter
) -> Envelope[dict[str, str]]:
    """A coupon that orders used is deactivated rather than deleted."""
    outcome = await pricing_admin.delete_coupon(session, coupon_id)
    return ok({"outcome": outcome}, f"Coupon {outcome}.")


# Tax rates ------------------------------------------------------------------------------------------------


@router.get("/admin/tax-rates", responses=errors_doc(401, 403))
async def list_tax_rates(session: DbSession, _staff: SettingsManager) -> Envelope[list[schemas.TaxRateRead]]:
    return ok([tax_read(rate) for rate in await pricing_admin.tax_rates(session)])


@router.post(
    "/admin/tax-rates", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 403, 409, 422)
)
async def create_tax_rate(
    data: schemas.TaxRateIn, session: DbSession, _staff: SettingsManager
) -> Envelope[schemas.TaxRateRead]:
    return ok(tax_read(await pricing_admin.save_tax_rate(session, data)), "Tax rate created.")


@router.put("/admin/tax-rates/{rate_id}", responses=errors_doc(401, 403, 404, 409, 422))
async def update_tax_rate(
    rate_id: IdPath, data: schemas.TaxRateIn, session: DbSession, _staff: SettingsManager
) -> Envelope[schemas.TaxRateRead]:
    return ok(tax_read(await pricing_admin.save_tax_rate(session, data, rate_id)))


@router.delete("/admin/tax-rates/{rate_id}", responses=errors_doc(401, 403, 404, 422))
async def delete_tax_rate(rate_id: IdPath, session: DbSession, _staff: SettingsManager) -> Envelope[None]:
    await pricing_admin.delete_tax_rate(session, rate_id)
    return ok(None, "Tax rate deleted.")


# Shipping -------------------------------------------------------------------------------------------------


@router.get("/admin/shipping-zones", responses=errors_doc(401, 403))
async def list_zones(
    ctx: Ctx, session: DbSession, _staff: SettingsManager
) -> Envelope[list[schemas.ZoneRead]]:
    currency = ctx.settings.currency
    return ok(
        [
            schemas.ZoneRead(
                id=zone.id,
                name=zone.name,
                countries=list(zone.countries or []),
                methods=[method_read(m, currency) for m in methods],
            )
            for zone, methods in await pricing_admin.zones(session)
        ]
    )


@router.post(
    "/admin/shipping-zones", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 403, 409, 422)
)
async def create_zone(
    data: schemas.ZoneIn, session: DbSession, _staff: SettingsManager
) -> Envelope[schemas.ZoneRead]:
    zone = await pricing_admin.save_zone(session, data)
    return ok(
        schemas.ZoneRead(id=zone.id, name=zone.name, countries=zone.countries, methods=[]), "Zone created."
    )


@router.put("/admin/shipping-zones/{zone_id}", responses=errors_doc(401, 403, 404, 409, 422))
async def update_zone(
    zone_id: IdPath, data: schemas.ZoneIn, ctx: Ctx, session: DbSession, _staff: SettingsManager
) -> Envelope[schemas.ZoneRead]:
    zone = await pricing_admin.save_zone(session, data, zone_id)
    methods = next(ms for z, ms in await pricing_admin.zones(session) if z.id == zone.id)
    currency = ctx.settings.currency
    return ok(
        schemas.ZoneRead(
            id=zone.id,
            name=zone.name,
            countries=zone.countries,
            methods=[method_read(m, currency) for m in methods],
        )
    )


@router.delete("/admin/shipping-zones/{zone_id}", responses=errors_doc(401, 403, 404, 422))
async def delete_zone(zone_id: IdPath, session: DbSession, _staff: SettingsManager) -> Envelope[None]:
    """Its methods go with it; orders keep the method's name."""
    await pricing_admin.delete_zone(session, zone_id)
    return ok(None, "Zone deleted.")


@router.post(
    "/admin/shipping-zones/{zone_id}/methods",
    status_code=status.HTTP_201_CREATED,
    responses=errors_doc(401, 403, 404, 422),
)
async def create_method(
    zone_id: IdPath, data: schemas.MethodIn, ctx: Ctx, session: DbSession, _staff: SettingsManager
) -> Envelope[schemas.MethodRead]:
    method = await pricing_admin.save_method(session, ctx.settings, data, zone_id=zone_id)
    return ok(method_read(method, ctx.settings.currency), "Shipping method created.")


@router.put("/admin/shipping-methods/{method_id}", responses=errors_doc(401, 403, 404, 422))
async def update_method(
    method_id: IdPath, data: schemas.MethodIn, ctx: Ctx, session: DbSession, _staff: SettingsManager
) -> Envelope[schemas.MethodRead]:
    method = await pricing_admin.save_method(session, ctx.settings, data, method_id=method_id)
    return ok(method_read(method, ctx.settings.currency))


@router.delete("/admin/shipping-methods/{method_id}", responses=errors_doc(401, 403, 404, 422))
async def delete_method(method_id: IdPath, session: DbSession, _staff: SettingsManager) -> Envelope[None]:
    await pricing_admin.delete_method(session, method_id)
    return ok(None, "Shipping method deleted.")
