"""The WhatsApp message templates this shop has had approved by Meta, per event and language.

Outside the 24-hour customer-service window WhatsApp delivers only an approved template: its name and
language as registered in the shop's WhatsApp Business account, and the body's ``{{1}}``, ``{{2}}``...
filled from the event's facts (``OutboundMessage.context``) named here, in order. A shop registers these
templates (category UTILITY) with these names before switching WhatsApp on; an event or language missing here
has no template, and its delivery fails for good (the transactional fallback takes the next channel)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emporium.notifications.providers.base import DeliveryFailed

# A body parameter's text may not be empty, hold a newline or a tab, or run four spaces (Meta's rules).
MAX_PARAMETER_LENGTH = 1024


@dataclass(frozen=True)
class WhatsAppTemplate:
    name: str
    # Meta's language code: ``en``, ``en_US``, ``hi``...
    language: str
    # The facts filling {{1}}, {{2}}... of the body, in order.
    body_parameters: tuple[str, ...]


def _both(
    event: str, name: str, parameters: tuple[str, ...], languages: tuple[str, ...] = ("en", "hi")
) -> dict[tuple[str, str], WhatsAppTemplate]:
    return {(event, language): WhatsAppTemplate(name, language, parameters) for language in languages}


TEMPLATES: Mapping[tuple[str, str], WhatsAppTemplate] = {
    **_both("order.placed", "order_placed_v1", ("number", "total")),
    **_both("payment.received", "payment_received_v1", ("number", "total")),
    **_both("payment.failed", "payment_failed_v1", ("number",)),
    **_both("order.shipped", "order_shipped_v1", ("number", "carrier", "tracking_number")),
    **_both("order.delivered", "order_delivered_v1", ("number",)),
    **_both("order.cancelled", "order_cancelled_v1", ("number",)),
    **_both("order.refunded", "order_refunded_v1", ("number",)),
}


def template_for(event: str, locale: str) -> WhatsAppTemplate | None:
    """The approved template of ``event`` in ``locale`` (``en-US`` tries ``en_US``, then ``en``)."""
    code = locale.replace("-", "_")
    return TEMPLATES.get((event, code)) or TEMPLATES.get((event, code.split("_", 1)[0].lower()))


def _parameter_text(value: str) -> str:
    # Meta refuses newlines, tabs and runs of more than three spaces inside a parameter.
    return " ".join(value.split())[:MAX_PARAMETER_LENGTH]


def template_payload(event: str, locale: str, context: Mapping[str, str]) -> dict[str, Any]:
    """The Cloud API's ``template`` object for ``event``; DeliveryFailed (permanent) when no template is
    approved for it or a fact it needs is missing: no retry would change either."""
    template = template_for(event, locale)
    if template is None:
        raise DeliveryFailed(f"no approved WhatsApp template for {event} in {locale}", permanent=True)
    values = [_parameter_text(context.get(name, "")) for name in template.body_parameters]
    missing = [name for name, value in zip(template.body_parameters, values, strict=True) if not value]
    if missing:
        raise DeliveryFailed(
            f"WhatsApp template {template.name} needs {', '.join(missing)}, which the event lacks",
            permanent=True,
        )
    components = [{"type": "body", "parameters": [{"type": "text", "text": value} for value in values]}]
    return {
        "name": template.name,
        "language": {"code": template.language},
        "components": components if values else [],
    }
