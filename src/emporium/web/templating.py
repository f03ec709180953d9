"""The storefront's one Jinja2 environment: autoescaped, strict about undefined names, with the
``asset()`` and ``page_url()`` globals and the ``money`` filter."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined

from emporium.catalog.names import variant_label
from emporium.core.context import shown_settings
from emporium.core.money import display_money
from emporium.core.places import country_name
from emporium.orders.names import order_status_name, payment_method_name, payment_status_name
from emporium.settings import get_settings
from emporium.web.assets import shop_assets


def format_money(amount: Decimal | str | int, currency: str, locale: str, style: str | None = None) -> str:
    """``Decimal("1234.50"), "USD", "en_US"`` → ``$1,234.50``. Exact: the amount is never a float, and
    Babel writes the currency's own number of decimal places."""
    if isinstance(amount, float):
        raise TypeError("money is never a float")
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(amount)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    if style is None:
        shown = shown_settings()
        style = shown.currency_display if shown is not None else get_settings().currency_display
    return display_money(value, currency, locale, style)


def _money(amount: Decimal | str | int | None, currency: str) -> str:
    """``{{ product.price_min | money(product.currency) }}``: every amount names its currency, and the
    locale is the shop's (macros imported without context can use it too)."""
    if amount is None:
        return ""
    return format_money(amount, currency, get_settings().locale)


def _country_name(code: str | None) -> str:
    """``{{ address.country | country_name }}``: "US" → "United States", in the shop's locale."""
    return country_name(code, get_settings().locale) if code else ""


def _variant_label(value: Any, product_name: str | None = None) -> str:
    """``{{ line | variant_label }}`` (a line with ``product_name`` and ``variant_name``) or
    ``{{ line.variant | variant_label(line.name) }}``: what tells the variant apart ("1 kg"), never its
    product's name again; empty for a product's only variant."""
    if product_name is None:
        return variant_label(str(value.product_name), value.variant_name)
    return variant_label(product_name, str(value) if value else None)


def _asset(name: str) -> str:
    url = shop_assets().url(name)
    if url is None:
        raise LookupError(f"no static file named {name!r}")
    return url


def _has_asset(name: str) -> bool:
    return name in shop_assets()


def page_url(path: str, params: Mapping[str, Any] | None = None, page: int | None = None) -> str:
    """``path`` with the query ``params`` and ``page`` (left out for page 1, the canonical first page)."""
    query = {k: v for k, v in (params or {}).items() if v not in (None, "") and k != "page"}
    if page is not None and page > 1:
        query["page"] = page
    return f"{path}?{urlencode(query, doseq=True)}" if query else path


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("emporium", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals.update(asset=_asset, has_asset=_has_asset, page_url=page_url)
    env.filters["money"] = _money
    env.filters.update(
        country_name=_country_name,
        variant_label=_variant_label,
        order_status_name=order_status_name,
        payment_status_name=payment_status_name,
        payment_method_name=payment_method_name,
    )
    return env
