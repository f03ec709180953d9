"""Pricing rules: which coupon applies, which tax rate and shipping method, and what the cart costs.

``quote`` is used by the cart view (problems are reported, nothing raised) and by checkout (``strict``:
problems refuse the order). It costs at most four statements whatever the number of lines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.errors import Conflict, ValidationFailed
from emporium.core.money import from_minor
from emporium.pricing.calculations import (
    CouponTerms,
    PricedLine,
    ShippingTerms,
    Totals,
    compute_totals,
    shipping_cost,
)
from emporium.pricing.errors import PricingError
from emporium.pricing.models import (
    Coupon,
    CouponKind,
    CouponRedemption,
    ShippingKind,
    ShippingMethod,
    ShippingZone,
)
from emporium.pricing.repository import ANY_COUNTRY, PricingRepository


class CouponNotApplicable(ValidationFailed):
    code = PricingError.COUPON_NOT_APPLICABLE
    message = "This coupon cannot be used for this order."


class CouponExhausted(Conflict):
    code = PricingError.COUPON_EXHAUSTED
    message = "This coupon has been used up."


class ShippingUnavailable(ValidationFailed):
    code = PricingError.SHIPPING_METHOD_UNAVAILABLE
    message = "This shipping method is not available for this address."


@dataclass(frozen=True)
class Quote:
    totals: Totals
    currency: str
    coupon: Coupon | None
    coupon_problem: str | None
    shipping_method: ShippingMethod | None
    tax_rate_ppm: int
    prices_include_tax: bool


@dataclass(frozen=True)
class ShippingOption:
    method: ShippingMethod
    price_minor: int


def email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def coupon_terms(coupon: Coupon) -> CouponTerms:
    return CouponTerms(
        code=coupon.code,
        kind=CouponKind(coupon.kind),
        percent_off_ppm=coupon.percent_off_ppm,
        amount_off_minor=coupon.amount_off_minor,
        product_ids=frozenset(int(p) for p in coupon.product_ids or ()),
        category_ids=frozenset(int(c) for c in coupon.category_ids or ()),
    )


def shipping_terms(method: ShippingMethod) -> ShippingTerms:
    return ShippingTerms(
        kind=ShippingKind(method.kind),
        price_minor=method.price_minor,
        free_above_minor=method.free_above_minor,
        per_kg_minor=method.per_kg_minor,
    )


def zone_serves(zone: ShippingZone, country: str, named: set[str]) -> bool:
    """A zone serves the countries it names; a "*" zone serves every country no other zone names."""
    countries = {c.upper() for c in zone.countries or ()}
    return country.upper() in countries or (ANY_COUNTRY in countries and country.upper() not in named)


def coupon_problem(
    coupon: Coupon | None, lines: Sequence[PricedLine], now: datetime, currency: str
) -> str | None:
    """Why the coupon cannot be used for these lines now, or None (usage limits are checked at checkout)."""
    if coupon is None or not coupon.is_active:
        return "This coupon code is not valid."
    if coupon.starts_at is not None and now < coupon.starts_at:
        return "This coupon is not valid yet."
    if coupon.ends_at is not None and now >= coupon.ends_at:
        return "This coupon has expired."
    if coupon.usage_limit is not None and coupon.used_count >= coupon.usage_limit:
        return "This coupon has been used up."
    subtotal = sum(line.subtotal_minor for line in lines)
    if coupon.min_subtotal_minor is not None and subtotal < coupon.min_subtotal_minor:
        minimum = from_minor(coupon.min_subtotal_minor, currency)
        return f"This coupon needs a subtotal of at least {minimum:f} {currency}."
    terms = coupon_terms(coupon)
    if not any(terms.applies_to(line) for line in lines):
        return "This coupon does not apply to anything in the cart."
    return None


class PricingService:
    async def quote(
        self,
        session: AsyncSession,
        settings: Settings,
        lines: Sequence[PricedLine],
        *,
        coupon_code: str | None,
        country: str | None,
        region: str | None,
        shipping_method_id: int | None,
        user_id: int | None,
        email: str | None,
        strict: bool = False,
    ) -> Quote:
        repo = PricingRepository(session)
        coupon: Coupon | None = None
        problem: str | None = None
        if coupon_code:
            coupon = await repo.coupon_by_code(coupon_code)
            problem = coupon_problem(coupon, lines, utcnow(), settings.currency)
            if problem is None and coupon is not None and not strict:
                problem = await self._used_up_by(repo, coupon, user_id, email)
            if problem is not None:
                if strict:
                    raise CouponNotApplicable(problem, details=[{"field": "coupon", "message": problem}])
                coupon = None

        method = None
        if shipping_method_id is not None:
            method = await self._usable_method(repo, shipping_method_id, country)
            if method is None and strict:
                raise ShippingUnavailable(
                    details=[{"field": "shipping_method_id", "message": "not available for this address"}]
                )

        tax_rate = await repo.tax_rate(country, region) if country else 0
        totals = compute_totals(
            lines,
            coupon=coupon_terms(coupon) if coupon else None,
            shipping=shipping_terms(method) if method else None,
            tax_rate_ppm=tax_rate,
            prices_include_tax=settings.prices_include_tax,
        )
        return Quote(
            totals=totals,
            currency=settings.currency,
            coupon=coupon,
            coupon_problem=problem,
            shipping_method=method,
            tax_rate_ppm=tax_rate,
            prices_include_tax=settings.prices_include_tax,
        )

    async def _usable_method(
        self, repo: PricingRepository, method_id: int, country: str | None
    ) -> ShippingMethod | None:
        found = await repo.shipping_method(method_id)
        if found is None or country is None or not found[0].is_active:
            return None
        method, zone = found
        # Only a "*" zone needs to know which countries the other zones name (one more statement).
        named = await self._named_countries(repo) if ANY_COUNTRY in (zone.countries or ()) else set()
        return method if zone_serves(zone, country, named) else None

    async def _named_countries(self, repo: PricingRepository) -> set[str]:
        named: set[str] = set()
        for _, zone in await repo.active_methods():
            named |= {c.upper() for c in zone.countries or () if c != ANY_COUNTRY}
        return named

    async def _used_up_by(
        self, repo: PricingRepository, coupon: Coupon, user_id: int | None, email: str | None
    ) -> str | None:
        if coupon.per_customer_limit is None or (user_id is None and not email):
            return None
        used = await repo.redemptions_by(coupon.id, user_id, email_digest(email or ""))
        return "You have already used this coupon." if used >= coupon.per_customer_limit else None

    async def check_coupon(
        self,
        session: AsyncSession,
        settings: Settings,
        code: str,
        lines: Sequence[PricedLine],
        *,
        user_id: int | None,
        email: str | None,
    ) -> Coupon:
        """The coupon, if it can be used on these lines by this customer now; otherwise a clear 422."""
        repo = PricingRepository(session)
        coupon = await repo.coupon_by_code(code)
        problem = coupon_problem(coupon, lines, utcnow(), settings.currency)
        if problem is None and coupon is not None:
            problem = await self._used_up_by(repo, coupon, user_id, email)
        if problem is not None or coupon is None:
            message = problem or "This coupon code is not valid."
            raise CouponNotApplicable(message, details=[{"field": "code", "message": message}])
        return coupon

    async def redeem(
        self,
        session: AsyncSession,
        coupon: Coupon,
        *,
        order_id: int,
        user_id: int | None,
        email: str,
        discount_minor: int,
    ) -> None:
        """Count the use (a conditional UPDATE: a single-use coupon raced by 20 checkouts is used once),
        then hold the customer to their limit; the row lock taken by the UPDATE serialises that check."""
        repo = PricingRepository(session)
        if not await repo.use_coupon(coupon.id):
            raise CouponExhausted()
        digest = email_digest(email)
        limit = coupon.per_customer_limit
        if limit is not None and await repo.redemptions_by(coupon.id, user_id, digest) >= limit:
            raise CouponExhausted("You have already used this coupon.")
        session.add(
            CouponRedemption(
                coupon_id=coupon.id,
                order_id=order_id,
                user_id=user_id,
                email_digest=digest,
                discount_minor=discount_minor,
            )
        )

    async def release(self, session: AsyncSession, order_id: int) -> None:
        """An order cancelled before it was paid gives its coupon use back."""
        await PricingRepository(session).release_redemption(order_id)

    async def methods_serving(self, session: AsyncSession, country: str) -> list[ShippingMethod]:
        """The active methods whose zone delivers to ``country`` (pick-up included)."""
        methods = await PricingRepository(session).active_methods()
        named = {c.upper() for _, zone in methods for c in zone.countries or () if c != ANY_COUNTRY}
        return [method for method, zone in methods if zone_serves(zone, country, named)]

    async def home_country(self, session: AsyncSession) -> str | None:
        """The country a checkout form starts with: the first one the shop's first active zone names
        (a shop shipping to one country has exactly that one); None when every zone is "*"."""
        for _, zone in await PricingRepository(session).active_methods():
            named = [c.upper() for c in zone.countries or () if c != ANY_COUNTRY]
            if named:
                return named[0]
        return None

    async def delivery_countries(self, session: AsyncSession) -> list[str]:
        """The countries the active shipping zones name, sorted (a zone shipping anywhere names none)."""
        methods = await PricingRepository(session).active_methods()
        return sorted({c.upper() for _, zone in methods for c in zone.countries or () if c != ANY_COUNTRY})

    async def shipping_options(
        self, session: AsyncSession, lines: Sequence[PricedLine], *, country: str, discount_minor: int = 0
    ) -> list[ShippingOption]:
        """The methods serving ``country``, each with what it would cost for these lines."""
        subtotal = sum(line.subtotal_minor for line in lines) - discount_minor
        return [
            ShippingOption(method, shipping_cost(shipping_terms(method), lines, subtotal))
            for method in await self.methods_serving(session, country)
        ]


pricing = PricingService()
