"""Rendering an event for a channel: the e-mail templates (templates/emails/<name>.{txt,html}.j2) and, for
every other channel, templates/notifications/<event with dots as underscores>.j2 with blocks ``title`` and
``body`` (in-app and push), ``sms`` and ``whatsapp``. A missing block means the channel is not offered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateNotFound

from emporium.notifications.email import _environment, render_email
from emporium.notifications.events import EMAIL, PUSH, EventSpec


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None = None


def template_name(event: str) -> str:
    return f"notifications/{event.replace('.', '_')}.j2"


@lru_cache(maxsize=256)
def _template(event: str) -> Template | None:
    try:
        return _environment().get_template(template_name(event))
    except TemplateNotFound:
        return None


def _block(event: str, block: str, context: Mapping[str, Any]) -> str:
    template = _template(event)
    if template is None or block not in template.blocks:
        raise LookupError(f"{template_name(event)} has no block {block!r}")
    return "".join(template.blocks[block](template.new_context(dict(context)))).strip()


def offers(spec: EventSpec, channel: str) -> bool:
    """Whether the event's templates have what ``channel`` needs."""
    if channel == EMAIL:
        return spec.email_template is not None
    template = _template(spec.name)
    if template is None:
        return False
    needed = ("title", "body") if channel == PUSH else (channel,)
    return all(block in template.blocks for block in needed)


def in_app(spec: EventSpec, context: Mapping[str, Any]) -> Rendered:
    """The inbox row's title and body."""
    return Rendered(subject=_block(spec.name, "title", context), text=_block(spec.name, "body", context))


def for_channel(spec: EventSpec, channel: str, to: str, context: Mapping[str, Any]) -> Rendered:
    if channel == EMAIL:
        assert spec.email_template is not None
        mail = render_email(spec.email_template, to, dict(context))
        return Rendered(subject=mail.subject, text=mail.text, html=mail.html)
    if channel == PUSH:
        return in_app(spec, context)
    return Rendered(subject=_block(spec.name, "title", context), text=_block(spec.name, channel, context))


def facts(context: Mapping[str, Any]) -> dict[str, str]:
    """The context's plain values as text (what a WhatsApp template's parameters are chosen from)."""
    return {
        k: str(v) for k, v in context.items() if isinstance(v, str | int | float) and not isinstance(v, bool)
    }
