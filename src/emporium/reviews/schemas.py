"""Reviews' in and out models. Text is stored and sent as plain text (never HTML): whoever shows it escapes
it. Control characters are refused (a line break and a tab are allowed in the body)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from emporium.core.responses import Pagination
from emporium.reviews.models import MAX_BODY, MAX_TITLE, ReviewStatus

__all__ = [
    "MAX_BODY",
    "MAX_TITLE",
    "Eligibility",
    "Moderation",
    "ModerationAction",
    "RatingSummaryRead",
    "ReviewCreate",
    "ReviewPage",
    "ReviewRead",
    "ReviewSort",
    "ReviewStaffRead",
    "ReviewStatus",
    "ReviewUpdate",
    "VoteCounts",
]

ReviewSort = Literal["newest", "highest", "lowest", "helpful"]
ModerationAction = Literal["approve", "reject", "spam"]
ANONYMOUS_AUTHOR = "A customer"

_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _not_bool(value: object) -> object:
    # JSON true would otherwise be read as 1 star.
    if isinstance(value, bool):
        raise ValueError("Give a number of stars from 1 to 5.")
    return value


Rating = Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=5)]


def _line(value: str) -> str:
    if _CONTROL_IN_LINE.search(value):
        raise ValueError("Control characters are not allowed.")
    return value.strip()


def _text(value: str) -> str:
    if _CONTROL_IN_TEXT.search(value):
        raise ValueError("Control characters are not allowed.")
    return value.replace("\r\n", "\n").strip()


class ReviewUpdate(BaseModel):
    rating: Rating
    title: str = Field(default="", max_length=MAX_TITLE)
    body: str = Field(default="", max_length=MAX_BODY)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return _line(value)

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _text(value)


class ReviewCreate(ReviewUpdate):
    # A field people never see (hidden by the form's style sheet): only a bot fills it in.
    website: str = Field(default="", max_length=200)


class VoteIn(BaseModel):
    helpful: bool


class ReportIn(BaseModel):
    reason: str = Field(default="", max_length=500)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _text(value)


class Moderation(BaseModel):
    action: ModerationAction
    note: str = Field(default="", max_length=500)

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        return _text(value)


class BulkModeration(Moderation):
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=200)


class ReviewRead(BaseModel):
    id: int
    product_id: int
    author_name: str
    rating: int
    title: str
    body: str
    status: ReviewStatus
    verified_purchase: bool
    helpful_count: int
    not_helpful_count: int
    created_at: datetime
    updated_at: datetime
    is_own: bool = False


class ReviewStaffRead(ReviewRead):
    user_id: int | None
    held_reason: str | None
    report_count: int
    moderation_note: str | None
    moderated_at: datetime | None
    product_name: str
    product_slug: str


class RatingSummaryRead(BaseModel):
    count: int
    # Two decimals, as the catalog shows a product's rating; None when nothing is rated yet.
    average: Decimal | None
    per_star: dict[int, int]


class ReviewPage(BaseModel):
    items: list[ReviewRead]
    pagination: Pagination
    summary: RatingSummaryRead


class VoteCounts(BaseModel):
    helpful: int
    not_helpful: int


class StaffPage(BaseModel):
    items: list[ReviewStaffRead]
    pagination: Pagination


@dataclass(frozen=True)
class Eligibility:
    may_write: bool
    reason: str | None
    verified: bool
    own_review: ReviewRead | None


class DriftReport(BaseModel):
    """What the nightly recompute found: the products whose summary differed, and it fixed."""

    checked: int
    drifted: list[int]


class BulkResult(BaseModel):
    decided: list[int]
