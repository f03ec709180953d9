from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from emporium.core.schemas import InputModel


class MailRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    to_address: str
    from_address: str
    subject: str
    text_body: str
    html_body: str
    template: str
    created_at: datetime


class ChannelChoiceRead(BaseModel):
    channel: str
    enabled: bool
    # E-mail of account messages: always on.
    locked: bool


class CategoryRead(BaseModel):
    category: str
    channels: list[ChannelChoiceRead]
    # When and where the customer opted in (categories that need consent: marketing and the like).
    consent_at: datetime | None
    consent_source: str | None


class PreferencesRead(BaseModel):
    """A customer's notification preferences: each category on each channel the shop sends, and their quiet
    hours (None: the shop's ``default_quiet_hours``; empty: none) in their time zone (None: the shop's)."""

    channels: list[str]
    categories: list[CategoryRead]
    quiet_hours: str | None
    time_zone: str | None
    default_quiet_hours: str
    default_time_zone: str


class ChoiceIn(InputModel):
    category: Literal["account", "orders", "marketing", "back_in_stock", "abandoned_cart", "review_request"]
    channel: Literal["email", "sms", "whatsapp", "push"]
    enabled: StrictBool


class PreferencesUpdate(InputModel):
    choices: list[ChoiceIn] = Field(default_factory=list, max_length=60)
    # "21:00-08:00", "" (none) or null (the shop's); left out: unchanged.
    quiet_hours: str | None = Field(
        default=None, pattern=r"^(|([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)$"
    )
    time_zone: str | None = Field(default=None, max_length=64)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            raise ValueError("Use a time zone name such as Europe/Paris.") from exc
        return value
