"""Every SQL statement of the pricing domain."""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.pricing.models import Coupon, CouponRedemption, ShippingMethod, ShippingZone, TaxRate

ANY_COUNTRY = "*"


class PricingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def coupon_by_code(self, code: str) -> Coupon | None:
        result = await self.session.execute(select(Coupon).where(Coupon.code == code.strip().upper()))
        return result.scalar_one_or_none()

    async def tax_rate(self, country: str, region: str | None) -> int:
        """The region's rate, else the whole country's (region ""), else 0: one statement."""
        regions = ["", region.strip().upper()] if region else [""]
        result = await self.session.execute(
            select(TaxRate.region, TaxRate.rate_ppm).where(
                TaxRate.country == country.upper(), func.upper(TaxRate.region).in_(regions)
            )
        )
        rates = {str(r).upper(): int(rate) for r, rate in result.all()}
        if region and region.strip().upper() in rates:
            return rates[region.strip().upper()]
        return rates.get("", 0)

    async def shipping_method(self, method_id: int) -> tuple[ShippingMethod, ShippingZone] | None:
        result = await self.session.execute(
            select(ShippingMethod, ShippingZone)
            .join(ShippingZone, ShippingZone.id == ShippingMethod.zone_id)
            .where(ShippingMethod.id == method_id)
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1])

    async def active_methods(self) -> list[tuple[ShippingMethod, ShippingZone]]:
        result = await self.session.execute(
            select(ShippingMethod, ShippingZone)
            .join(ShippingZone, ShippingZone.id == ShippingMethod.zone_id)
            .where(ShippingMethod.is_active)
            .order_by(ShippingMethod.position, ShippingMethod.id)
        )
        return [(m, z) for m, z in result.all()]

    async def use_coupon(self, coupon_id: int) -> bool:
        """Count one use unless the coupon is inactive or used up: one conditional UPDATE, which also
        locks the coupon row until the transaction ends."""
        result = await self.session.execute(
            update(Coupon)
            .where(
                Coupon.id == coupon_id,
                Coupon.is_active,
                or_(Coupon.usage_limit.is_(None), Coupon.used_count < Coupon.usage_limit),
            )
            .values(used_count=Coupon.used_count + 1)
            .returning(Coupon.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none() is not None

    async def redemptions_by(self, coupon_id: int, user_id: int | None, email_digest: str) -> int:
        who = CouponRedemption.email_digest == email_digest
        if user_id is not None:
            who = or_(who, CouponRedemption.user_id == user_id)
        result = await self.session.execute(
            select(func.count())
            .select_from(CouponRedemption)
            .where(CouponRedemption.coupon_id == coupon_id, who)
        )
        return int(result.scalar_one())

    async def release_redemption(self, order_id: int) -> None:
        result = await self.session.execute(
            delete(CouponRedemption)
            .where(CouponRedemption.order_id == order_id)
            .returning(CouponRedemption.coupon_id)
            .execution_options(synchronize_session=False)
        )
        coupon_id = result.scalar_one_or_none()
        if coupon_id is not None:
            await self.session.execute(
                update(Coupon)
                .where(Coupon.id == coupon_id, Coupon.used_count > 0)
                .values(used_count=Coupon.used_count - 1)
                .execution_options(synchronize_session=False)
            )

    # Staff maintenance (pricing/admin.py) ---------------------------------------------------------------

    async def coupons_page(self, *, limit: int, offset: int) -> tuple[list[Coupon], int]:
        """Coupons newest first, and how many there are."""
        rows = await self.session.execute(
            select(Coupon).order_by(Coupon.id.desc()).limit(limit).offset(offset)
        )
        total = await self.session.execute(select(func.count()).select_from(Coupon))
        return list(rows.scalars()), int(total.scalar_one())

    async def coupon(self, coupon_id: int) -> Coupon | None:
        return await self.session.get(Coupon, coupon_id)

    async def redemption_count(self, coupon_id: int) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(CouponRedemption).where(CouponRedemption.coupon_id == coupon_id)
        )
        return int(result.scalar_one())

    async def tax_rates(self) -> list[TaxRate]:
        rows = await self.session.execute(select(TaxRate).order_by(TaxRate.country, TaxRate.region))
        return list(rows.scalars())

    async def tax_rate_by_id(self, rate_id: int) -> TaxRate | None:
        return await self.session.get(TaxRate, rate_id)

    async def zones(self) -> list[ShippingZone]:
        return list((await self.session.execute(select(ShippingZone).order_by(ShippingZone.id))).scalars())

    async def methods(self) -> list[ShippingMethod]:
        """Every shipping method, active or not, in the order they are listed."""
        rows = await self.session.execute(
            select(ShippingMethod).order_by(ShippingMethod.position, ShippingMethod.id)
        )
        return list(rows.scalars())

    async def zone(self, zone_id: int) -> ShippingZone | None:
        return await self.session.get(ShippingZone, zone_id)

    async def method(self, method_id: int) -> ShippingMethod | None:
        return await self.session.get(ShippingMethod, method_id)
