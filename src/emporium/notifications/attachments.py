"""Files an event's e-mail carries, made by the domain that owns them (the orders domain's payment receipt):
registered per event in the wiring step, built by the delivery job before it sends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.notifications.providers.base import Attachment

AttachmentBuilder = Callable[[AsyncSession, Settings, Mapping[str, Any]], Awaitable[list[Attachment]]]

BUILDERS: dict[str, AttachmentBuilder] = {}


def register_attachments(event: str, builder: AttachmentBuilder) -> None:
    existing = BUILDERS.get(event)
    if existing is not None and existing is not builder:
        raise RuntimeError(f"attachments of {event!r} are registered twice")
    BUILDERS[event] = builder


async def attachments_of(
    session: AsyncSession, settings: Settings, event: str, context: Mapping[str, Any]
) -> tuple[Attachment, ...]:
    builder = BUILDERS.get(event)
    return () if builder is None else tuple(await builder(session, settings, context))
