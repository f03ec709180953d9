"""Customers: names, e-mail addresses, phone numbers in E.164 (valid for their country, as the shop stores
them), postal addresses, and how often each one orders."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import phonenumbers

FIRST_NAMES = (
    "Aisha",
    "Ben",
    "Carlos",
    "Chloe",
    "Daniel",
    "Deepa",
    "Elena",
    "Emma",
    "Farah",
    "Felix",
    "Grace",
    "Hannah",
    "Hiro",
    "Isla",
    "Ivan",
    "Jamal",
    "Jia",
    "Jonas",
    "Kavya",
    "Leo",
    "Lina",
    "Lucas",
    "Maya",
    "Mateo",
    "Mei",
    "Nina",
    "Noah",
    "Olivia",
    "Omar",
    "Priya",
    "Rahul",
    "Rosa",
    "Sam",
    "Sara",
    "Sofia",
    "Tariq",
    "Theo",
    "Uma",
    "Victor",
    "Wei",
    "Yara",
    "Zoë",
    "Anika",
    "Arjun",
    "Chen",
    "Fatima",
    "Gabriel",
    "Inès",
    "Kenji",
    "Lars",
    "Siobhán",
    "José",
)
LAST_NAMES = (
    "Adams",
    "Ahmed",
    "Bauer",
    "Brown",
    "Chen",
    "Costa",
    "Das",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Gupta",
    "Hansen",
    "Ito",
    "Jones",
    "Khan",
    "Kim",
    "Kowalski",
    "Lee",
    "Lopez",
    "Martin",
    "Meyer",
    "Miller",
    "Moreau",
    "Murphy",
    "Nair",
    "Nguyen",
    "Novak",
    "Okafor",
    "Patel",
    "Rossi",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Suzuki",
    "Taylor",
    "Walker",
    "Wang",
    "Williams",
    "Wilson",
    "Young",
    "Zhang",
    "Iyer",
    "Reddy",
    "O'Brien",
    "Müller",
    "García",
)
MAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")


@dataclass(frozen=True)
class Country:
    code: str
    weight: int
    # (city, region or "", postal code maker)
    cities: tuple[tuple[str, str, Callable[[random.Random], str]], ...]
    streets: tuple[str, ...]
    phone: Callable[[random.Random], str]
    number_first: bool = True


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _zip(prefix: str) -> Callable[[random.Random], str]:
    return lambda rng: prefix + _digits(rng, 5 - len(prefix))


def _uk(area: str) -> Callable[[random.Random], str]:
    return lambda rng: (
        f"{area}{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        + (rng.choice("ABDEFGHJLNPQRSTUWXYZ"))
    )


def _fixed(prefix: str, length: int) -> Callable[[random.Random], str]:
    return lambda rng: prefix + _digits(rng, length - len(prefix))


def _us_phone(rng: random.Random) -> str:
    area = rng.choice(("202", "212", "213", "305", "312", "415", "503", "512", "617", "646", "702", "718"))
    return f"+1{area}{rng.randint(2, 9)}{_digits(rng, 2)}{_digits(rng, 4)}"


def _prefixed(*prefixes: str, digits: int) -> Callable[[random.Random], str]:
    return lambda rng: rng.choice(prefixes) + _digits(rng, digits)


COUNTRIES = (
    Country(
        "US",
        60,
        (
            ("New York", "NY", _zip("100")),
            ("Brooklyn", "NY", _zip("112")),
            ("Los Angeles", "CA", _zip("900")),
            ("San Francisco", "CA", _zip("941")),
            ("Austin", "TX", _zip("787")),
            ("Houston", "TX", _zip("770")),
            ("Chicago", "IL", _zip("606")),
            ("Seattle", "WA", _zip("981")),
            ("Boston", "MA", _zip("021")),
            ("Miami", "FL", _zip("331")),
            ("Denver", "CO", _zip("802")),
            ("Portland", "OR", _zip("972")),
        ),
        ("Market Street", "Oak Avenue", "Main Street", "Elm Street", "Maple Avenue", "Sunset Boulevard"),
        _us_phone,
    ),
    Country(
        "GB",
        12,
        (("London", "", _uk("E")), ("Manchester", "", _uk("M")), ("Bristol", "", _uk("BS"))),
        ("High Street", "Station Road", "Mill Lane", "Church Street", "Park Road"),
        _prefixed("+4474", "+4475", "+4477", "+4478", "+4479", digits=8),
    ),
    Country(
        "IN",
        10,
        (
            ("Mumbai", "MH", _fixed("400", 6)),
            ("Bengaluru", "KA", _fixed("560", 6)),
            ("New Delhi", "DL", _fixed("110", 6)),
            ("Chennai", "TN", _fixed("600", 6)),
        ),
        ("MG Road", "Linking Road", "Park Street", "Anna Salai"),
        _prefixed("+919", "+918", "+917", digits=9),
    ),
    Country(
        "DE",
        7,
        (("Berlin", "", _zip("10")), ("München", "", _zip("80")), ("Hamburg", "", _zip("20"))),
        ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße"),
        _prefixed("+49151", "+49160", "+49170", "+49176", digits=8),
        number_first=False,
    ),
    Country(
        "FR",
        5,
        (("Paris", "", _zip("750")), ("Lyon", "", _zip("690")), ("Marseille", "", _zip("130"))),
        ("rue de la Paix", "avenue Victor Hugo", "boulevard Voltaire"),
        _prefixed("+336", "+337", digits=8),
    ),
    Country(
        "NL",
        3,
        (
            (
                "Amsterdam",
                "",
                lambda rng: f"10{_digits(rng, 2)} {rng.choice('ABCDEFGH')}{rng.choice('JKLMNPRS')}",
            ),
        ),
        ("Keizersgracht", "Prinsengracht"),
        _prefixed("+316", digits=8),
        number_first=False,
    ),
    Country(
        "CA",
        3,
        (("Toronto", "ON", lambda rng: f"M5V {rng.randint(1, 9)}T{rng.randint(1, 9)}"),),
        ("Queen Street West", "King Street"),
        _prefixed("+1416", "+1647", digits=7),
    ),
)


@dataclass
class Place:
    """A postal address in the shape orders copy it (checkout ``_address_dict``)."""

    full_name: str
    phone: str | None
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str
    country: str

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class Customer:
    id: int
    email: str
    first_name: str
    last_name: str
    phone: str | None
    country: Country
    created_at: datetime
    # How often this customer orders, relative to the others.
    weight: float
    places: list[Place] = field(default_factory=list)
    is_active: bool = True
    erase: bool = False
    erased_at: datetime | None = None
    last_order_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class People:
    """Makes names, phones and addresses from one seeded random source."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._country_weights = [c.weight for c in COUNTRIES]

    def country(self) -> Country:
        return self.rng.choices(COUNTRIES, weights=self._country_weights)[0]

    def name(self) -> tuple[str, str]:
        return self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)

    def phone(self, country: Country) -> str:
        """A number ``phonenumbers`` holds valid for the country, in E.164."""
        for _ in range(50):
            candidate = country.phone(self.rng)
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate, None)):
                return candidate
        raise RuntimeError(f"no valid phone number made for {country.code}")

    def email(self, first: str, last: str, serial: int) -> str:
        local = f"{_ascii(first)}.{_ascii(last)}{serial}"
        return f"{local}@{self.rng.choice(MAIL_DOMAINS)}".lower()

    def place(self, country: Country, full_name: str, phone: str | None) -> Place:
        rng = self.rng
        city, region, postal = rng.choice(country.cities)
        street, number = rng.choice(country.streets), rng.randint(1, 240)
        line1 = f"{number} {street}" if country.number_first else f"{street} {number}"
        line2 = f"Apt {rng.randint(1, 30)}{rng.choice('ABCD')}" if rng.random() < 0.25 else None
        return Place(full_name, phone, line1, line2, city, region or None, postal(rng), country.code)

    def customers(self, ids: list[int], now: datetime) -> list[Customer]:
        rng = self.rng
        made = []
        for serial, user_id in enumerate(ids):
            first, last = self.name()
            country = self.country()
            phone = self.phone(country) if rng.random() < 0.7 else None
            # Sign-ups grow over the two years before now.
            created = now - timedelta(days=800 * rng.random() ** 1.6, seconds=rng.randint(0, 86_399))
            customer = Customer(
                id=user_id,
                email=self.email(first, last, serial),
                first_name=first,
                last_name=last,
                phone=phone,
                country=country,
                created_at=created,
                weight=min(rng.paretovariate(1.4), 40.0),
                is_active=rng.random() >= 0.005,
                erase=rng.random() < 0.005,
            )
            places = rng.choices((0, 1, 2, 3), weights=(15, 60, 21, 4))[0]
            for index in range(places):
                someone_else = index > 0 and rng.random() < 0.3
                full_name = " ".join(self.name()) if someone_else else customer.name
                customer.places.append(self.place(country, full_name, phone if index == 0 else None))
            made.append(customer)
        made.sort(key=lambda c: c.created_at)
        return made


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded if ch.isalnum())


USER_COLUMNS = (
    "id",
    "email",
    "password_hash",
    "first_name",
    "last_name",
    "phone",
    "role",
    "is_active",
    "email_verified_at",
    "last_login_at",
    "erased_at",
    "created_at",
    "updated_at",
)
ADDRESS_COLUMNS = (
    "user_id",
    "label",
    "full_name",
    "phone",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "is_default",
    "created_at",
    "updated_at",
)
PREFERENCE_COLUMNS = (
    "user_id",
    "email",
    "sms",
    "push",
    "whatsapp",
    "promotional",
    "created_at",
    "updated_at",
)
LABELS = ("Home", "Work", "Parents", None)


def customer_rows(
    customers: list[Customer], password_hash: str, now: datetime, rng: random.Random
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Users, addresses and notification preferences, as the accounts domain leaves them (an erased
    customer keeps an anonymised row and nothing else: accounts/privacy.py ``erase_user``)."""
    users: list[tuple[Any, ...]] = []
    addresses: list[tuple[Any, ...]] = []
    preferences: list[tuple[Any, ...]] = []
    for c in customers:
        seen = c.last_order_at or c.created_at
        if c.erase:
            c.erased_at = min(now, seen + timedelta(days=rng.randint(1, 60)))
            users.append(
                (
                    c.id,
                    f"erased-{c.id}@erased.invalid",
                    None,
                    None,
                    None,
                    None,
                    "customer",
                    False,
                    None,
                    seen,
                    c.erased_at,
                    c.created_at,
                    c.erased_at,
                )
            )
            continue
        verified = c.created_at + timedelta(minutes=rng.randint(1, 600)) if rng.random() < 0.85 else None
        last_login = min(now, seen + timedelta(hours=rng.randint(0, 240))) if rng.random() < 0.9 else None
        updated = max(filter(None, (c.created_at, verified, last_login)))
        users.append(
            (
                c.id,
                c.email,
                password_hash,
                c.first_name,
                c.last_name,
                c.phone,
                "customer",
                c.is_active,
                verified,
                last_login,
                None,
                c.created_at,
                min(updated, now),
            )
        )
        for index, place in enumerate(c.places):
            added = c.created_at + timedelta(days=index * rng.randint(0, 90))
            added = min(added, now)
            addresses.append(
                (
                    c.id,
                    LABELS[min(index, 3)],
                    place.full_name,
                    place.phone,
                    place.line1,
                    place.line2,
                    place.city,
                    place.region,
                    place.postal_code,
                    place.country,
                    index == 0,
                    added,
                    added,
                )
            )
        sms = c.phone is not None and rng.random() < 0.2
        preferences.append(
            (
                c.id,
                True,
                sms,
                False,
                sms and rng.random() < 0.3,
                rng.random() < 0.3,
                c.created_at,
                c.created_at,
            )
        )
    return users, addresses, preferences
