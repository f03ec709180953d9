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

    @classmethod
    def of(cls, page: int, limit: int, total: int) -> Pagination:
        return cls(page=page, limit=limit, total=total, pages=(total + limit - 1) // limit if limit else 0)


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
