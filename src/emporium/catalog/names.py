"""How a variant is named next to its product: by what tells it apart, not by repeating the product.

A variant's own name often repeats its product's ("Kalakand 1 kg" of "Kalakand"; a product with one variant
names it like the product), so a line reads "Kalakand · 1 kg", or just "Kalakand".
"""

from __future__ import annotations

SEPARATOR = " · "
# What importers call a product's only variant when it has no name of its own.
_UNNAMED = frozenset({"default", "default title"})
_JOINERS = " -\u2013\u2014,:/\u00b7("  # space, hyphen, en and em dash, comma, colon, slash, middle dot


def variant_label(product_name: str, variant_name: str | None) -> str:
    """What tells the variant apart from its product; empty when its name says nothing more."""
    product, variant = product_name.strip(), (variant_name or "").strip()
    if variant.casefold() in {"", product.casefold(), *_UNNAMED}:
        return ""
    if product and variant.casefold().startswith(product.casefold()):
        rest = variant[len(product) :]
        # Only a whole-word prefix: "Tea" does not shorten "Teapot".
        if rest[:1] in tuple(_JOINERS):
            rest = rest.strip()
            if rest.startswith("(") and rest.endswith(")"):
                rest = rest[1:-1]
            return rest.lstrip(_JOINERS).strip() or ""
    return variant


def line_name(product_name: str, variant_name: str | None) -> str:
    """``"Kalakand", "Kalakand 1 kg"`` → ``"Kalakand · 1 kg"``; ``"Mug", "Mug"`` → ``"Mug"``."""
    label = variant_label(product_name, variant_name)
    return f"{product_name.strip()}{SEPARATOR}{label}" if label else product_name.strip()
