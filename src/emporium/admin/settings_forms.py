"""What the settings screens' forms share: fields as typed, refusals as messages by field, and the values an
audit entry records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form
from pydantic import ValidationError

from emporium.core.errors import EmporiumError
from emporium.web.account_pages import field_errors

# A form field as typed; the schema behind the form bounds it further, with a message.
Text = Annotated[str, Form(max_length=400)]
FormErrors = dict[str, str]
NOT_SAVED = "Nothing was saved: correct the fields marked below."


def form_errors(exc: ValidationError) -> FormErrors:
    """Pydantic's complaints by field, and above the form what was not saved (and why, when the complaint
    is about the whole form)."""
    errors: FormErrors = field_errors(exc)
    general = errors.get("form")
    errors["form"] = f"Nothing was saved: {general}" if general else NOT_SAVED
    return errors


def refused(exc: EmporiumError) -> FormErrors:
    """A service's refusal: by the fields it names, and its message above the form."""
    errors = {str(d.get("field")): str(d.get("message")) for d in exc.details if d.get("field")}
    errors["form"] = exc.message
    return errors


def read_fields(model: Any) -> dict[str, Any]:
    """A pricing read model's values as the audit log compares them (without its ids)."""
    return dict(model.model_dump(exclude={"id", "zone_id"}))


def removed(before: dict[str, Any]) -> dict[str, tuple[object, object]]:
    """The audit changes of a deleted object: every value, to nothing."""
    return {name: (value, None) for name, value in before.items()}
