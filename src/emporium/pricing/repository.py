"""Every SQL statement of the pricing domain.

Coupons name products and categories by id; the catalog sits above pricing, so the few catalog columns the
coupon screens read (which ids exist, their names) are named here as plain tables, read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    String,
    column,
    delete,
    func,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.pricing.models import Coupon, CouponRedemption, ShippingMethod, ShippingZone, TaxRate

ANY_COUNTRY = "*"

_products = table("products", column("id", BigInteger), column("name", String))
_categories = table("categories", column("id", BigInteger), column("name", String), column("path", String))


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def coupon_state(state: str, now: datetime) -> ColumnElement[bool] | None:
    """``active`` (on, started, not ended), ``scheduled`` (on, not started), ``expired`` (ended) or
    ``inactive`` (switched off) as a condition; None for any other value (no filter)."""
    started = or_(Coupon.starts_at.is_(None), Coupon.starts_at <= now)
    not_ended = or_(Coupon.ends_at.is_(None), Coupon.ends_at > now)
    conditions: dict[str, ColumnElement[bool]] = {
        "active": Coupon.is_active & started & not_ended,
        "scheduled": Coupon.is_active & (Coupon.starts_at > now) & not_ended,
        "expired": Coupon.ends_at <= now,
        "inactive": ~Coupon.is_active,
    }
    return conditions.get(state)


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

    async def coupons_search(
        self, *, query: str, kind: str, state: str, now: datetime, before_id: int | None, limit: int
    ) -> list[Coupon]:
        """Coupons newest first, ``limit + 1`` older than ``before_id``: those whose code or description
        contains ``query``, of ``kind`` and in ``state`` when given. One statement."""
        statement = select(Coupon)
        if query:
            pattern = _like(query)
            statement = statement.where(
                or_(
                    func.lower(Coupon.code).like(pattern, escape="\\"),
                    func.lower(Coupon.description).like(pattern, escape="\\"),
                )
            )
        if kind:
            statement = statement.where(Coupon.kind == kind)
        condition = coupon_state(state, now)
        if condition is not None:
            statement = statement.where(condition)
        if before_id is not None:
            statement = statement.where(Coupon.id < before_id)
        result = await self.session.execute(statement.order_by(Coupon.id.desc()).limit(limit + 1))
        return list(result.scalars())

    async def product_names(self, product_ids: Sequence[int]) -> dict[int, str]:
        """The names of those of the products that exist."""
        if not product_ids:
            return {}
        result = await self.session.execute(
            select(_products.c.id, _products.c.name).where(_products.c.id.in_(product_ids))
        )
        return {int(product_id): str(name) for product_id, name in result.all()}

    async def categories(self) -> Sequence[Row[int, str, str]]:
        """``(id, name, path)`` of every category, in tree order."""
        result = await self.session.execute(
            select(_categories.c.id, _categories.c.name, _categories.c.path).order_by(
                _categories.c.path, _categories.c.id
            )
        )
        return result.all()

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
