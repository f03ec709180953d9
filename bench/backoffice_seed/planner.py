"""Orders as the checkout would have placed them: when (a year that grows, with weekends, the Christmas
season and a Black Friday), who (customers who come back, guests), what (popular products more often),
where to, how it is paid, with which coupon, and the figures ``compute_totals`` gives for all of that. Each
order's life is then told by ``plots.tell``."""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from backoffice_seed.common import StaffMember
from backoffice_seed.people import Customer, People, Place
from backoffice_seed.plots import tell
from backoffice_seed.shop import Coupon, Method, Shop, Variant, _black_friday
from backoffice_seed.stories import COD, TRANSFER, SoldLine, Story
from emporium.pricing.calculations import Totals, compute_totals
from emporium.pricing.models import ShippingKind

HISTORY_DAYS = 400
GUEST_SHARE = 0.25
# Share of the day's orders by hour (UTC), quiet at night.
HOURLY = (2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 9, 9, 8, 8, 8, 9, 10, 11, 11, 9, 6, 4)
METHODS = {
    "US": ((70, 12, 10, 8)),
    "IN": ((30, 5, 55, 10)),
    "DE": ((45, 20, 5, 30)),
}
METHOD_NAMES = ("stripe", "paypal", COD, TRANSFER)
CUSTOMER_NOTES = (
    "Please leave the parcel at the door.",
    "Ring the bell twice.",
    "A gift: no prices in the parcel, please.",
    "Deliver after 6 pm if you can.",
)


@dataclass
class PlannedLine:
    variant: Variant
    quantity: int


@dataclass
class OrderPlan:
    placed_at: datetime
    customer: Customer | None
    contact_name: str
    contact_email: str
    contact_phone: str | None
    shipping: Place
    billing: Place
    method: str
    shipping_method: Method
    coupon: Coupon | None
    tax_rate_ppm: int
    lines: list[PlannedLine]
    totals: Totals
    story: Story
    client_address: str | None
    note: str | None
    id: int = 0
    number: str = ""
    invoice_number: str | None = None


@dataclass(frozen=True)
class Guest:
    name: str
    email: str
    phone: str
    place: Place


class OrderPlanner:
    def __init__(
        self,
        rng: random.Random,
        now: datetime,
        shop: Shop,
        people: People,
        customers: list[Customer],
        staff: tuple[list[StaffMember], list[StaffMember]],
        *,
        currency: str,
        prices_include_tax: bool,
    ) -> None:
        self.rng, self.now, self.shop, self.people = rng, now, shop, people
        self.customers = customers  # sorted by sign-up
        self._signed_up = [c.created_at for c in customers]
        self._cumulative = list(itertools.accumulate(c.weight for c in customers))
        self.operators, self.admins = staff
        self.currency, self.prices_include_tax = currency, prices_include_tax
        self.guests: list[Guest] = []
        self.welcomed: set[str] = set()
        self.black_friday = _black_friday(now)

    # When

    def _day_weight(self, day: datetime) -> float:
        growth = 0.55 + 0.9 * (1 - (self.now - day).days / HISTORY_DAYS)
        weekend = 1.15 if day.weekday() >= 5 else 1.0
        season = 1.7 if (day.month == 12 and day.day <= 22) or (day.month == 11 and day.day >= 20) else 1.0
        offset = (day.date() - self.black_friday).days
        if 0 <= offset <= 3:
            season = 4.0
        return growth * weekend * season

    def moments(self, count: int) -> list[datetime]:
        """``count`` placement times over the last ``HISTORY_DAYS`` days, in order, none in the future."""
        rng, today = self.rng, datetime.combine(self.now.date(), time.min, tzinfo=UTC)
        days = [today - timedelta(days=back) for back in range(HISTORY_DAYS)]
        chosen = rng.choices(days, weights=[self._day_weight(d) for d in days], k=count)
        moments = []
        for day in chosen:
            at = day + timedelta(
                hours=rng.choices(range(24), weights=HOURLY)[0], seconds=rng.uniform(0, 3599)
            )
            if at > self.now:
                at = day + (self.now - day) * rng.random()
            moments.append(at)
        moments.sort()
        return moments

    # Who and where to

    def _customer(self, at: datetime) -> Customer | None:
        signed_up = bisect.bisect_right(self._signed_up, at)
        if signed_up == 0:
            return None
        index = bisect.bisect_left(self._cumulative, self.rng.random() * self._cumulative[signed_up - 1])
        return self.customers[min(index, signed_up - 1)]

    def _guest(self) -> Guest:
        rng = self.rng
        if self.guests and rng.random() < 0.15:
            return rng.choice(self.guests)
        first, last = self.people.name()
        country = self.people.country()
        phone = self.people.phone(country)
        email = self.people.email(first, last, 100_000 + len(self.guests))
        guest = Guest(f"{first} {last}", email, phone, self.people.place(country, f"{first} {last}", phone))
        self.guests.append(guest)
        return guest

    def _buyer(self, at: datetime) -> tuple[Customer | None, str, str, str | None, Place]:
        rng = self.rng
        customer = self._customer(at) if rng.random() >= GUEST_SHARE else None
        if customer is None:
            guest = self._guest()
            return None, guest.name, guest.email, guest.phone, guest.place
        if customer.places:
            place = customer.places[0] if rng.random() < 0.8 else rng.choice(customer.places)
        else:  # typed at the checkout, not saved
            place = self.people.place(customer.country, customer.name, customer.phone)
        return customer, customer.name, customer.email, place.phone or customer.phone, place

    # What, and for how much

    def _lines(self) -> list[PlannedLine]:
        rng = self.rng
        count = rng.choices((1, 2, 3, 4, 5), weights=(45, 30, 15, 7, 3))[0]
        return [
            PlannedLine(v, rng.choices((1, 2, 3), weights=(75, 18, 7))[0]) for v in self.shop.pick(rng, count)
        ]

    def _coupon(self, at: datetime, email: str) -> Coupon | None:
        rng = self.rng
        share = 0.5 if 0 <= (at.date() - self.black_friday).days <= 3 else 0.12
        if rng.random() >= share:
            return None
        valid = [c for c in self.shop.coupons if c.valid_at(at)]
        if not valid:
            return None
        coupon = rng.choice(valid)
        if coupon.per_customer_limit is not None and email in self.welcomed:
            return None
        return coupon

    def _priced(
        self, lines: list[PlannedLine], coupon: Coupon | None, method: Method, rate: int
    ) -> tuple[Totals, Coupon | None]:
        priced = [line.variant.line(line.quantity) for line in lines]
        subtotal = sum(p.subtotal_minor for p in priced)
        if coupon is not None:
            terms = coupon.terms()
            too_small = coupon.min_subtotal_minor is not None and subtotal < coupon.min_subtotal_minor
            if too_small or not any(terms.applies_to(p) for p in priced):
                coupon = None
        totals = compute_totals(
            priced,
            coupon=coupon.terms() if coupon is not None else None,
            shipping=method.terms,
            tax_rate_ppm=rate,
            prices_include_tax=self.prices_include_tax,
        )
        return totals, coupon

    def plan(self, at: datetime) -> OrderPlan:
        rng = self.rng
        customer, name, email, phone, place = self._buyer(at)
        country = place.country
        method = rng.choices(METHOD_NAMES, weights=METHODS.get(country, (60, 15, 10, 15)))[0]
        shipping_methods = self.shop.methods_for(country)
        shipping_method = rng.choices(shipping_methods, weights=(70, 20, 10)[: len(shipping_methods)])[0]
        rate = self.shop.tax_rate(country, place.region)
        lines = self._lines()
        totals, coupon = self._priced(lines, self._coupon(at, email), shipping_method, rate)
        story = Story(
            rng,
            self.now,
            at,
            method=method,
            total=totals.total_minor,
            lines=[
                SoldLine(line.variant.sku, line.quantity, figures.total_minor)
                for line, figures in zip(lines, totals.lines, strict=True)
            ],
            shipping_minor=totals.shipping_minor,
            currency=self.currency,
            buyer_id=customer.id if customer is not None else None,
            country=country,
            pickup=shipping_method.terms.kind == ShippingKind.PICKUP,
            operators=self.operators,
            admins=self.admins,
        )
        tell(story)
        if coupon is not None:
            coupon.used += 0 if story.coupon_released else 1
            if coupon.per_customer_limit is not None and not story.coupon_released:
                self.welcomed.add(email)
        if customer is not None:
            customer.last_order_at = at
        billing = place if rng.random() >= 0.05 else self.people.place(self.people.country(), name, None)
        return OrderPlan(
            placed_at=at,
            customer=customer,
            contact_name=name,
            contact_email=email,
            contact_phone=phone,
            shipping=place,
            billing=billing,
            method=method,
            shipping_method=shipping_method,
            coupon=coupon,
            tax_rate_ppm=rate,
            lines=lines,
            totals=totals,
            story=story,
            client_address=_client_address(rng),
            note=rng.choice(CUSTOMER_NOTES) if rng.random() < 0.04 else None,
        )


def _client_address(rng: random.Random) -> str | None:
    """Documentation address ranges (RFC 5737, RFC 3849): no real client's."""
    roll = rng.random()
    if roll < 0.2:
        return None
    if roll < 0.9:
        return f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randint(1, 254)}"
    return f"2001:db8::{rng.randint(1, 0xFFFF):x}"
