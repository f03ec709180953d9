"""Staff maintenance of coupons, tax rates and shipping zones and methods."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.errors import Conflict, NotFound, ValidationFailed
from emporium.core.keyset import KeysetPage, decode_cursor, encode_cursor
from emporium.core.money import from_minor, to_minor_units
from emporium.pricing import schemas
from emporium.pricing.calculations import percent_to_ppm, ppm_to_percent
from emporium.pricing.errors import PricingError
from emporium.pricing.models import (
    Coupon,
    CouponKind,
    ShippingKind,
    ShippingMethod,
    ShippingZone,
    TaxRate,
)
from emporium.pricing.repository import PricingRepository


def _minor(amount: Decimal | None, currency: str, field: str) -> int | None:
    return None if amount is None else to_minor_units(amount, currency, field)


def _money(minor: int | None, currency: str) -> Decimal | None:
    return None if minor is None else from_minor(minor, currency)


async def _flush(session: AsyncSession, code: PricingError, message: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(message, code=code) from exc


def coupon_read(coupon: Coupon, currency: str) -> schemas.CouponRead:
    return schemas.CouponRead(
        id=coupon.id,
        code=coupon.code,
        description=coupon.description,
        kind=CouponKind(coupon.kind),
        percent_off=ppm_to_percent(coupon.percent_off_ppm) if coupon.percent_off_ppm is not None else None,
        amount_off=_money(coupon.amount_off_minor, currency),
        min_subtotal=_money(coupon.min_subtotal_minor, currency),
        starts_at=coupon.starts_at,
        ends_at=coupon.ends_at,
        usage_limit=coupon.usage_limit,
        per_customer_limit=coupon.per_customer_limit,
        used_count=coupon.used_count,
        product_ids=list(coupon.product_ids or []),
        category_ids=list(coupon.category_ids or []),
        is_active=coupon.is_active,
        created_at=coupon.created_at,
    )


@dataclass(frozen=True)
class CategoryChoice:
    id: int
    name: str
    depth: int


def method_read(method: ShippingMethod, currency: str) -> schemas.MethodRead:
    return schemas.MethodRead(
        id=method.id,
        zone_id=method.zone_id,
        name=method.name,
        kind=ShippingKind(method.kind),
        price=from_minor(method.price_minor, currency),
        free_above=_money(method.free_above_minor, currency),
        per_kg=_money(method.per_kg_minor, currency),
        is_active=method.is_active,
        position=method.position,
        details=method.details or {},
    )


def tax_read(rate: TaxRate) -> schemas.TaxRateRead:
    return schemas.TaxRateRead(
        id=rate.id,
        country=rate.country,
        region=rate.region,
        name=rate.name,
        rate=ppm_to_percent(rate.rate_ppm),
    )


class PricingAdmin:
    # Coupons ------------------------------------------------------------------------------------------

    async def coupons(self, session: AsyncSession, *, limit: int, offset: int) -> tuple[list[Coupon], int]:
        return await PricingRepository(session).coupons_page(limit=limit, offset=offset)

    async def coupon(self, session: AsyncSession, coupon_id: int) -> Coupon:
        coupon = await PricingRepository(session).coupon(coupon_id)
        if coupon is None:
            raise NotFound("No such coupon.", code=PricingError.COUPON_NOT_FOUND)
        return coupon

    async def coupon_page(
        self, session: AsyncSession, *, query: str, kind: str, state: str, after: str | None, limit: int
    ) -> KeysetPage[Coupon]:
        """Coupons newest first a page at a time, found by code or description, of a kind, in a state
        (``active``, ``scheduled``, ``expired``, ``inactive``)."""
        cursor = decode_cursor(after)
        rows = await PricingRepository(session).coupons_search(
            query=query,
            kind=kind,
            state=state,
            now=utcnow(),
            before_id=None if cursor is None else cursor.id,
            limit=limit,
        )
        shown = rows[:limit]
        return KeysetPage(
            rows=shown, next_cursor=encode_cursor(None, shown[-1].id) if len(rows) > limit else None
        )

    async def category_choices(self, session: AsyncSession) -> list[CategoryChoice]:
        """Every category in tree order, with its depth (a coupon may be limited to any of them)."""
        return [
            CategoryChoice(int(category_id), str(name), max(str(path).count("/") - 2, 0))
            for category_id, name, path in await PricingRepository(session).categories()
        ]

    async def product_names(self, session: AsyncSession, product_ids: Sequence[int]) -> dict[int, str]:
        return await PricingRepository(session).product_names(sorted(set(product_ids)))

    async def check_restrictions(
        self, session: AsyncSession, product_ids: Sequence[int], category_ids: Sequence[int]
    ) -> None:
        """Refuse (422, naming the ids) products or categories that do not exist."""
        repo = PricingRepository(session)
        details = []
        missing_products = sorted(set(product_ids) - set(await repo.product_names(sorted(set(product_ids)))))
        if missing_products:
            listed = ", ".join(str(i) for i in missing_products)
            details.append({"field": "product_ids", "message": f"No product has the id {listed}."})
        if category_ids:
            known = {int(row[0]) for row in await repo.categories()}
            missing = sorted(set(category_ids) - known)
            if missing:
                listed = ", ".join(str(i) for i in missing)
                details.append({"field": "category_ids", "message": f"No category has the id {listed}."})
        if details:
            raise ValidationFailed("A product or category of the coupon does not exist.", details=details)

    async def set_active(self, session: AsyncSession, coupon_id: int, active: bool) -> tuple[Coupon, bool]:
        """Switch the coupon on or off; the coupon and whether it was on before."""
        coupon = await self.coupon(session, coupon_id)
        was = coupon.is_active
        coupon.is_active = active
        await session.flush()
        return coupon, was

    def _apply(self, coupon: Coupon, data: schemas.CouponIn, settings: Settings) -> None:
        currency = settings.currency
        coupon.code = data.code
        coupon.description = data.description
        coupon.kind = data.kind
        coupon.percent_off_ppm = percent_to_ppm(data.percent_off) if data.percent_off is not None else None
        coupon.amount_off_minor = _minor(data.amount_off, currency, "amount_off")
        coupon.min_subtotal_minor = _minor(data.min_subtotal, currency, "min_subtotal")
        coupon.starts_at, coupon.ends_at = data.starts_at, data.ends_at
        coupon.usage_limit, coupon.per_customer_limit = data.usage_limit, data.per_customer_limit
        coupon.product_ids, coupon.category_ids = (
            sorted(set(data.product_ids)),
            sorted(set(data.category_ids)),
        )
        coupon.is_active = data.is_active

    async def create_coupon(
        self, session: AsyncSession, settings: Settings, data: schemas.CouponIn
    ) -> Coupon:
        coupon = Coupon(used_count=0)
        self._apply(coupon, data, settings)
        session.add(coupon)
        await _flush(session, PricingError.COUPON_CODE_TAKEN, "A coupon with this code already exists.")
        return coupon

    async def update_coupon(
        self, session: AsyncSession, settings: Settings, coupon_id: int, data: schemas.CouponIn
    ) -> Coupon:
        coupon = await self.coupon(session, coupon_id)
        if data.usage_limit is not None and data.usage_limit < coupon.used_count:
            raise Conflict(
                f"The coupon was already used {coupon.used_count} times.",
                code=PricingError.USAGE_LIMIT_BELOW_USES,
                details=[{"field": "usage_limit", "message": f"at least {coupon.used_count}"}],
            )
        self._apply(coupon, data, settings)
        await _flush(session, PricingError.COUPON_CODE_TAKEN, "A coupon with this code already exists.")
        return coupon

    async def delete_coupon(self, session: AsyncSession, coupon_id: int) -> str:
        """Delete an unused coupon; one that orders used is deactivated instead (the books keep it)."""
        coupon = await self.coupon(session, coupon_id)
        if await PricingRepository(session).redemption_count(coupon.id):
            coupon.is_active = False
            await session.flush()
            return "deactivated"
        await session.delete(coupon)
        await session.flush()
        return "deleted"

    # Tax rates ----------------------------------------------------------------------------------------

    async def tax_rates(self, session: AsyncSession) -> list[TaxRate]:
        return await PricingRepository(session).tax_rates()

    async def tax_rate(self, session: AsyncSession, rate_id: int) -> TaxRate:
        return await self._tax_rate(session, rate_id)

    async def _tax_rate(self, session: AsyncSession, rate_id: int) -> TaxRate:
        rate = await PricingRepository(session).tax_rate_by_id(rate_id)
        if rate is None:
            raise NotFound("No such tax rate.", code=PricingError.TAX_RATE_NOT_FOUND)
        return rate

    async def save_tax_rate(
        self, session: AsyncSession, data: schemas.TaxRateIn, rate_id: int | None = None
    ) -> TaxRate:
        rate = await self._tax_rate(session, rate_id) if rate_id is not None else TaxRate()
        rate.country, rate.region, rate.name = data.country, data.region, data.name
        rate.rate_ppm = percent_to_ppm(data.rate)
        session.add(rate)
        await _flush(session, PricingError.TAX_RATE_EXISTS, "This country and region already have a rate.")
        return rate

    async def delete_tax_rate(self, session: AsyncSession, rate_id: int) -> None:
        await session.delete(await self._tax_rate(session, rate_id))
        await session.flush()

    # Shipping -----------------------------------------------------------------------------------------

    async def zones(self, session: AsyncSession) -> list[tuple[ShippingZone, list[ShippingMethod]]]:
        repo = PricingRepository(session)
        zones = await repo.zones()
        methods = await repo.methods()
        by_zone: dict[int, list[ShippingMethod]] = {zone.id: [] for zone in zones}
        for method in methods:
            by_zone.setdefault(method.zone_id, []).append(method)
        return [(zone, by_zone[zone.id]) for zone in zones]

    async def zone(self, session: AsyncSession, zone_id: int) -> ShippingZone:
        zone = await PricingRepository(session).zone(zone_id)
        if zone is None:
            raise NotFound("No such shipping zone.", code=PricingError.ZONE_NOT_FOUND)
        return zone

    async def save_zone(
        self, session: AsyncSession, data: schemas.ZoneIn, zone_id: int | None = None
    ) -> ShippingZone:
        zone = await self.zone(session, zone_id) if zone_id is not None else ShippingZone()
        zone.name, zone.countries = data.name, data.countries
        session.add(zone)
        await _flush(session, PricingError.ZONE_NAME_TAKEN, "A shipping zone with this name already exists.")
        return zone

    async def delete_zone(self, session: AsyncSession, zone_id: int) -> None:
        await session.delete(await self.zone(session, zone_id))
        await session.flush()

    async def method(self, session: AsyncSession, method_id: int) -> ShippingMethod:
        method = await PricingRepository(session).method(method_id)
        if method is None:
            raise NotFound("No such shipping method.", code=PricingError.SHIPPING_METHOD_NOT_FOUND)
        return method

    async def save_method(
        self,
        session: AsyncSession,
        settings: Settings,
        data: schemas.MethodIn,
        *,
        zone_id: int | None = None,
        method_id: int | None = None,
    ) -> ShippingMethod:
        if method_id is not None:
            method = await self.method(session, method_id)
        else:
            method = ShippingMethod(zone_id=(await self.zone(session, zone_id or 0)).id)
        currency = settings.currency
        method.name, method.kind = data.name, data.kind
        method.price_minor = _minor(data.price, currency, "price") or 0
        method.free_above_minor = _minor(data.free_above, currency, "free_above")
        method.per_kg_minor = _minor(data.per_kg, currency, "per_kg")
        method.is_active, method.position, method.details = data.is_active, data.position, dict(data.details)
        session.add(method)
        await session.flush()
        return method

    async def delete_method(self, session: AsyncSession, method_id: int) -> None:
        # Orders keep the method's name; their link is set to NULL by the foreign key.
        await session.delete(await self.method(session, method_id))
        await session.flush()


pricing_admin = PricingAdmin()
