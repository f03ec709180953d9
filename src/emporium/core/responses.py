"""The success envelope: ``{"success": true, "data": ..., "message": ...}`` (lists add ``pagination``)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

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
