"""The success envelope: ``{"success": true, "data": ..., "message": ...}`` (lists add ``pagination``), and
the error body every refusal answers with, as the API's schema shows it (core/errors.py writes it)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Pagination(BaseModel):
    page: int
    limit: int
    total: int
    pages: int
    # False when ``total`` is a lower bound: a very large set is counted only up to a cap (the product list
    # shows "1,000+"), because an exact count of a whole large catalog costs more than the page itself.
    total_exact: bool = True

    @classmethod
    def of(cls, page: int, limit: int, total: int, *, exact: bool = True) -> Pagination:
        pages = (total + limit - 1) // limit if limit else 0
        return cls(page=page, limit=limit, total=total, pages=pages, total_exact=exact)


class Envelope(BaseModel, Generic[T]):
    success: bool = True
    data: T
    message: str | None = None


class ListEnvelope(BaseModel, Generic[T]):
    success: bool = True
    data: list[T]
    pagination: Pagination
    message: str | None = None


def ok(data: T, message: str | None = None) -> Envelope[T]:
    return Envelope(data=data, message=message)


class ErrorDetail(BaseModel):
    """One refused field (or other detail) of an error."""

    model_config = ConfigDict(extra="allow")

    field: str | None = None
    message: str | None = None


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable: clients match on it (each domain lists its own in errors.py).")
    message: str = Field(description="A sentence for people; it may change.")
    details: list[ErrorDetail] = []


class ErrorEnvelope(BaseModel):
    """What every error answers: ``{"success": false, "error": {"code", "message", "details"}}``."""

    success: bool = False
    error: ErrorInfo
