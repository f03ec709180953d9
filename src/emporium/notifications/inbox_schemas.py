"""The in-app inbox as the API shows it (seed 002's names: ``type``, ``message``, ``is_read``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class NotificationRead(BaseModel):
    id: int
    type: str = Field(description="The event, e.g. order.shipped.")
    category: str
    title: str
    message: str
    link: str | None
    is_read: bool
    read_at: datetime | None
    created_at: datetime


class InboxPagination(BaseModel):
    limit: int
    next_cursor: str | None = Field(description="Pass as ?after= for the next (older) page; null at the end.")
    unread_count: int


class InboxEnvelope(BaseModel):
    success: bool = True
    data: list[NotificationRead]
    pagination: InboxPagination
    message: str | None = None


class UnreadCount(BaseModel):
    unread_count: int


class MarkedRead(BaseModel):
    marked: int
    unread_count: int
