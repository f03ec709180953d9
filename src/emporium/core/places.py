"""Countries by name, and the regions and postal codes of the countries whose formats the shop knows.

Country names are Babel's (CLDR) territory names in the shop's locale. A postal code or region is checked
only where its format is known; elsewhere any reasonable text is taken, since a shop that refuses a real
address loses the sale. Values are stored in the form the country's post writes them (``SW1Y 4JH``,
``K1A 0B1``, ``CA`` for California).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from babel import Locale

from emporium.core.messages import COUNTRY_MESSAGE

# CLDR territories with two letters that are not countries one ships to: groupings and codes reserved
# for other uses (the EU, the UN, the "unknown region", Clipperton, Diego Garcia, Ceuta and Melilla, ...).
_NOT_COUNTRIES = frozenset(
    {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AC", "TA", "CP", "CQ", "DG", "EA", "IC"}
)
# Any reasonable postal code of a country whose format the shop does not know.
_ANY_POSTAL = re.compile(r"[A-Z0-9][A-Z0-9 -]{0,18}[A-Z0-9]|[A-Z0-9]")


@lru_cache(maxsize=8)
def countries(locale: str) -> tuple[tuple[str, str], ...]:
    """(code, name) of every country, sorted by its name in ``locale``."""
    names = Locale.parse(locale).territories
    found = [(code, name) for code, name in names.items() if _is_country(code)]
    return tuple(sorted(found, key=lambda pair: pair[1].casefold()))


def _is_country(code: str) -> bool:
    return len(code) == 2 and code.isascii() and code.isalpha() and code not in _NOT_COUNTRIES


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    return frozenset(code for code, _ in countries("en"))


def country_name(code: str, locale: str) -> str:
    """The country's name in ``locale``; an unknown code is shown as it is."""
    return str(Locale.parse(locale).territories.get(code.upper(), code))


def normalise_country(value: str) -> str:
    code = value.strip().upper()
    if code not in country_codes():
        raise ValueError(COUNTRY_MESSAGE)
    return code


# Postal codes --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostalFormat:
    pattern: re.Pattern[str]
    example: str
    name: str = "postal code"

    def message(self) -> str:
        return f"Enter a {self.name} like {self.example}."


def _postal(pattern: str, example: str, name: str = "postal code") -> PostalFormat:
    return PostalFormat(re.compile(pattern), example, name)


POSTAL_FORMATS: dict[str, PostalFormat] = {
    "US": _postal(r"(\d{5})(?:-?(\d{4}))?", "94103 or 94103-1234", "ZIP code"),
    "CA": _postal(r"([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]) ?(\d[ABCEGHJ-NPRSTV-Z]\d)", "K1A 0B1"),
    "GB": _postal(r"([A-Z]{1,2}\d[A-Z\d]?|GIR) ?(\d[A-Z]{2})", "SW1A 1AA", "postcode"),
    "IN": _postal(r"([1-9]\d{2}) ?(\d{3})", "110001", "PIN code"),
    "DE": _postal(r"(\d{5})", "10115", "postcode (Postleitzahl)"),
    "FR": _postal(r"(\d{5})", "75001"),
    "AU": _postal(r"(\d{4})", "2000", "postcode"),
    "NL": _postal(r"([1-9]\d{3}) ?([A-Z]{2})", "1012 AB", "postcode"),
    "ES": _postal(r"(\d{5})", "28001"),
    "IT": _postal(r"(\d{5})", "00118", "CAP"),
    "BE": _postal(r"([1-9]\d{3})", "1000"),
    "AT": _postal(r"([1-9]\d{3})", "1010"),
    "DK": _postal(r"([1-9]\d{3})", "1050"),
    "SE": _postal(r"([1-9]\d{2}) ?(\d{2})", "114 55"),
    "PL": _postal(r"(\d{2})-?(\d{3})", "00-950"),
    "IE": _postal(r"([AC-FHKNPRTV-Y]\d{2}|D6W) ?([0-9AC-FHKNPRTV-Y]{4})", "D02 X285", "Eircode"),
}
# How the parts a format captured are joined again, where not by a space.
_POSTAL_JOINERS = {"US": "-", "IN": "", "PL": "-"}


def normalise_postal_code(country: str | None, value: str) -> str:
    """The postal code as the country's post writes it, or ValueError saying what the country expects."""
    text = re.sub(r"\s+", " ", value.strip().upper())
    known = POSTAL_FORMATS.get((country or "").upper())
    if known is None:
        if not _ANY_POSTAL.fullmatch(text):
            raise ValueError("Enter the postal code: letters, digits, spaces and dashes.")
        return text
    found = known.pattern.fullmatch(text)
    if found is None:
        raise ValueError(known.message())
    parts = [part for part in found.groups() if part]
    return _POSTAL_JOINERS.get((country or "").upper(), " ").join(parts)


# Regions -------------------------------------------------------------------------------------------------

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana",
    "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri",
    "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio",
    "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands", "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands", "AA": "Armed Forces Americas", "AE": "Armed Forces Europe",
    "AP": "Armed Forces Pacific",
}  # fmt: skip
CA_PROVINCES = {
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
    "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
    "SK": "Saskatchewan", "YT": "Yukon",
}  # fmt: skip
AU_STATES = {
    "ACT": "Australian Capital Territory", "NSW": "New South Wales", "NT": "Northern Territory",
    "QLD": "Queensland", "SA": "South Australia", "TAS": "Tasmania", "VIC": "Victoria",
    "WA": "Western Australia",
}  # fmt: skip
IN_STATES = {
    "AN": "Andaman and Nicobar Islands", "AP": "Andhra Pradesh", "AR": "Arunachal Pradesh",
    "AS": "Assam", "BR": "Bihar", "CH": "Chandigarh", "CT": "Chhattisgarh",
    "DH": "Dadra and Nagar Haveli and Daman and Diu", "DL": "Delhi", "GA": "Goa", "GJ": "Gujarat",
    "HR": "Haryana", "HP": "Himachal Pradesh", "JK": "Jammu and Kashmir", "JH": "Jharkhand",
    "KA": "Karnataka", "KL": "Kerala", "LA": "Ladakh", "LD": "Lakshadweep", "MP": "Madhya Pradesh",
    "MH": "Maharashtra", "MN": "Manipur", "ML": "Meghalaya", "MZ": "Mizoram", "NL": "Nagaland",
    "OR": "Odisha", "PY": "Puducherry", "PB": "Punjab", "RJ": "Rajasthan", "SK": "Sikkim",
    "TN": "Tamil Nadu", "TG": "Telangana", "TR": "Tripura", "UP": "Uttar Pradesh",
    "UT": "Uttarakhand", "WB": "West Bengal",
}  # fmt: skip


@dataclass(frozen=True)
class RegionList:
    regions: dict[str, str]
    name: str
    # Whether the stored form is the code (US: "CA") or the name (India: "Maharashtra").
    store_code: bool = True

    def find(self, text: str) -> str | None:
        wanted = text.strip().casefold().removesuffix(".")
        for code, name in self.regions.items():
            if wanted in (code.casefold(), name.casefold()):
                return code if self.store_code else name
        return None


REGIONS: dict[str, RegionList] = {
    "US": RegionList(US_STATES, "state"),
    "CA": RegionList(CA_PROVINCES, "province or territory"),
    "AU": RegionList(AU_STATES, "state or territory"),
    "IN": RegionList(IN_STATES, "state or union territory", store_code=False),
}


def normalise_region(country: str | None, value: str | None) -> str | None:
    """The region in its stored form; required and checked where the country's list is known."""
    listed = REGIONS.get((country or "").upper())
    text = (value or "").strip()
    if listed is None:
        return text or None
    if not text:
        raise ValueError(f"Enter the {listed.name}.")
    found = listed.find(text)
    if found is None:
        raise ValueError(f"Enter a {listed.name} of {country_name(country or '', 'en')}, by name or code.")
    return found
