"""WhatsApp through Meta's Cloud API over httpx: ``POST {graph}/{phone-number-id}/messages``.

Inside the 24-hour customer-service window (``message.template`` is None) the message goes as free text;
outside it as the event's approved template (notifications/whatsapp_templates.py). The Cloud API takes no
idempotency key: the delivery's unique key and the job recording the message id right after the send are
the guard, and the key rides along as ``biz_opaque_callback_data`` so a status webhook names it too."""

from __future__ import annotations

from typing import Any

import httpx

from emporium.core.config import Settings
from emporium.notifications.messaging_config import WhatsAppSettings
from emporium.notifications.providers.base import DeliveryFailed, OutboundMessage, Provider, SendResult
from emporium.notifications.whatsapp_templates import template_payload

NAME = "whatsapp_cloud"
CHANNEL = "whatsapp"
# Meta's error codes that another attempt later may get past: throttling, a passing outage, and the shop's
# own access token (which the shop can fix while the delivery waits). Any other refusal is for good:
# 131047 (outside the window), 131026 (undeliverable), 132xxx (template problems), 100 (bad parameter)...
RETRYABLE_CODES = frozenset({0, 1, 2, 4, 10, 190, 80007, 130429, 131000, 131016, 131048, 131056, 133004})
OPAQUE_DATA_LIMIT = 512


def _recipient(phone: str) -> str:
    return phone.removeprefix("+")


def message_payload(message: OutboundMessage) -> dict[str, Any]:
    """The Cloud API's JSON for one message: text inside the window, the approved template outside it."""
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": _recipient(message.to),
        "biz_opaque_callback_data": message.idempotency_key[:OPAQUE_DATA_LIMIT],
    }
    if message.template is None:
        payload["type"] = "text"
        payload["text"] = {"preview_url": message.link is not None, "body": message.text}
    else:
        payload["type"] = "template"
        payload["template"] = template_payload(message.template, message.locale, message.context)
    return payload


def refusal(response: httpx.Response) -> DeliveryFailed:
    """What a non-2xx answer means for the delivery."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    code = error.get("code") if isinstance(error, dict) else None
    detail = error.get("message", "") if isinstance(error, dict) else ""
    reason = f"WhatsApp answered {response.status_code}" + (f" (error {code}: {detail})" if code else "")
    if response.status_code >= 500 or response.status_code == 429:
        return DeliveryFailed(reason, permanent=False)
    return DeliveryFailed(reason, permanent=not (isinstance(code, int) and code in RETRYABLE_CODES))


class WhatsAppProvider:
    name = NAME
    channel = CHANNEL

    def __init__(self, settings: WhatsAppSettings, http: httpx.AsyncClient | None = None) -> None:
        assert settings.whatsapp_phone_number_id
        assert settings.whatsapp_access_token
        self.url = f"{settings.whatsapp_graph_url.rstrip('/')}/{settings.whatsapp_phone_number_id}/messages"
        self.token = settings.whatsapp_access_token.get_secret_value()
        self.http = http or httpx.AsyncClient(timeout=settings.whatsapp_timeout_seconds)

    async def send(self, message: OutboundMessage) -> SendResult:
        payload = message_payload(message)
        try:
            response = await self.http.post(
                self.url, json=payload, headers={"Authorization": f"Bearer {self.token}"}
            )
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"WhatsApp did not answer in time: {exc!r}", permanent=False) from exc
        except httpx.TransportError as exc:
            raise DeliveryFailed(f"WhatsApp could not be reached: {exc!r}", permanent=False) from exc
        if not response.is_success:
            raise refusal(response)
        try:
            message_id = str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            # Accepted, but the answer names no message: sending again could send it twice.
            raise DeliveryFailed(f"WhatsApp's answer named no message: {exc!r}", permanent=True) from exc
        return SendResult(provider=NAME, provider_message_id=message_id)

    async def aclose(self) -> None:
        await self.http.aclose()


def whatsapp_provider(settings: Settings) -> Provider | None:
    """The Cloud API sender when its phone number id and access token are set; None otherwise."""
    part = settings.part(WhatsAppSettings)
    if not part.whatsapp_configured():
        return None
    return WhatsAppProvider(part)
