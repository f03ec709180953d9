"""The product details form: what it sends, checked field by field into the catalog's own input models, with
a message per field that a merchant can act on.

Single-line fields refuse control characters and ``<``/``>`` (a name or tag is text, never markup); the
description is Markdown (or HTML) that the catalog sanitises exactly as the API's does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from emporium.catalog.schemas import ProductCreate, ProductPut
from emporium.core.params import MAX_ID

_HELP = {
    "name": "Give the product a name of at most 200 characters.",
    "slug": "A slug is lower-case letters, digits and hyphens (at most 220), with at least one letter.",
    "description": "The description is at most 50,000 characters.",
    "description_format": "Choose Markdown or HTML.",
    "tags": "Give at most 30 tags, each of at most 60 characters, separated by commas.",
    "seo_title": "The search title is at most 200 characters.",
    "seo_description": "The search description is at most 500 characters.",
    "status": "Choose draft, active or archived.",
    "sku": "A SKU is letters, digits, dots, hyphens and underscores, at most 64 of them.",
    "price": "Give the price as a number of at most 1,000,000,000,000, e.g. 19.99.",
    "compare_at_price": "Give the compare-at price as a number, e.g. 24.99, or leave it empty.",
    "on_hand": "Give the stock as a whole number of pieces, 0 or more.",
    "category_id": "Choose a category from the list.",
    "brand_id": "Choose a brand from the list.",
}
_SINGLE_LINE = ("name", "slug", "tags", "seo_title", "seo_description", "sku", "price", "compare_at_price")
_STATUSES = frozenset({"draft", "active", "archived"})


@dataclass
class DetailsForm:
    """The form as sent (strings), re-shown as typed when something is refused."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def refuse(self, name: str, message: str | None = None) -> None:
        self.errors.setdefault(name, message or _HELP.get(name, "Check this field."))

    def summary(self) -> str:
        count = len(self.errors)
        return f"{count} field{'s need' if count != 1 else ' needs'} another look: see the messages below."


def _has_control(text: str, *, multiline: bool) -> bool:
    allowed = {"\n", "\r", "\t"} if multiline else set()
    return any((ord(ch) < 32 and ch not in allowed) or ord(ch) == 127 for ch in text)


def _id_or_none(form: DetailsForm, name: str) -> int | None:
    text = form.values.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        form.refuse(name)
        return None
    return int(text)


def _check_text(form: DetailsForm) -> None:
    for name in _SINGLE_LINE:
        text = form.values.get(name, "")
        if _has_control(text, multiline=False):
            form.refuse(name, "Remove the control characters from this field.")
        elif "<" in text or ">" in text:
            form.refuse(name, "Leave out < and >: this field is plain text, not markup.")
    if _has_control(form.values.get("description", ""), multiline=True):
        form.refuse("description", "Remove the control characters from the description.")


def _fields(form: DetailsForm) -> dict[str, Any]:
    values = form.values
    tags = [tag.strip() for tag in values.get("tags", "").split(",") if tag.strip()]
    status = values.get("status", "draft")
    if status not in _STATUSES:
        form.refuse("status")
    return {
        "name": values.get("name", ""),
        "slug": values.get("slug", "").strip() or None,
        "description": values.get("description", ""),
        "description_format": values.get("description_format", "markdown"),
        "category_id": _id_or_none(form, "category_id"),
        "brand_id": _id_or_none(form, "brand_id"),
        "tags": tags,
        "status": status if status in _STATUSES else "draft",
        "is_featured": values.get("featured") == "yes",
        "seo_title": values.get("seo_title", "").strip() or None,
        "seo_description": values.get("seo_description", "").strip() or None,
    }


def _collect(form: DetailsForm, exc: ValidationError) -> None:
    for error in exc.errors():
        location = [str(part) for part in error["loc"] if not str(part).isdigit()]
        name = location[-1] if location else "name"
        if name == "stock":
            name = "on_hand"
        form.refuse(name if name in _HELP else "name", _HELP.get(name, str(error["msg"])))


def parse_update(form: DetailsForm) -> ProductPut | None:
    """The full replacement the form describes, or None with ``form.errors`` filled."""
    _check_text(form)
    data = _fields(form)
    if data["slug"] is None:
        form.refuse("slug", "A product keeps a slug: give one (lower-case letters, digits and hyphens).")
    try:
        parsed = ProductPut.model_validate(data)
    except ValidationError as exc:
        _collect(form, exc)
        return None
    return None if form.errors else parsed


def parse_create(form: DetailsForm) -> ProductCreate | None:
    """A new product with its first variant (SKU, price, stock of its own pool), or None with errors."""
    _check_text(form)
    data = _fields(form)
    values = form.values
    on_hand = values.get("on_hand", "").strip() or "0"
    if not on_hand.isdigit() or len(on_hand) > 13:
        form.refuse("on_hand")
        on_hand = "0"
    variant = {
        "sku": values.get("sku", ""),
        "price": values.get("price", "").strip() or None,
        "compare_at_price": values.get("compare_at_price", "").strip() or None,
        "stock": {"on_hand": int(on_hand)},
    }
    try:
        parsed = ProductCreate.model_validate(data | {"variants": [variant]})
    except ValidationError as exc:
        _collect(form, exc)
        return None
    return None if form.errors else parsed
