"""The base of every request body."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator


def contains_nul(value: object) -> bool:
    """True when a string anywhere in ``value`` (nested dicts and lists too) holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


class InputModel(BaseModel):
    """Unknown fields (``role``, ``is_active``) are ignored; strings are bounded; NUL is refused.

    PostgreSQL cannot store NUL in text (the statement would fail with a 500), and no field needs one.
    """

    model_config = ConfigDict(extra="ignore", str_max_length=10_000)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if contains_nul(value):
            raise ValueError("NUL characters are not allowed.")
        return value
