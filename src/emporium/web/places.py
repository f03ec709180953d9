"""The country list of the storefront's address forms: names in the shop's locale, and the country a new
address starts with (the one the shop ships to first)."""

from __future__ import annotations

from emporium.core.places import countries
from emporium.pricing.service import pricing
from emporium.web.page import PageContext


def country_choices(page: PageContext) -> tuple[tuple[str, str], ...]:
    """(code, name) of every country, sorted by name in the shop's locale."""
    return countries(page.settings.locale)


async def home_country(page: PageContext) -> str:
    """The first country the shop's shipping zones name; empty when they all ship anywhere."""
    return await pricing.home_country(page.session) or ""
