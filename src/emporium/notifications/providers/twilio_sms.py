"""SMS through Twilio's official SDK, on its asynchronous path (``AsyncTwilioHttpClient`` and
``messages.create_async``), from a messaging service or a sender number.

Each message asks for status callbacks at ``/api/v1/webhooks/twilio-status`` on the shop's public URL,
with the send time in the URL (Twilio signs the URL, so an old callback replayed later is recognised).
Twilio's message creation takes no idempotency key (its ``I-Twilio-Idempotency-Token`` header is on the
webhooks it sends, not on the API): the delivery's unique key and the job recording the message id right
after the send are the guard against sending twice."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from emporium.core.config import Settings
from emporium.core.params import API_PREFIX
from emporium.notifications.messaging_config import TwilioSettings
from emporium.notifications.providers.base import DeliveryFailed, OutboundMessage, Provider, SendResult

NAME = "twilio"
CHANNEL = "sms"
STATUS_CALLBACK_PATH = f"{API_PREFIX}/webhooks/twilio-status"
# The query parameter of the status callback URL that carries the send time (Unix seconds).
SENT_PARAMETER = "sent"
# Twilio's error codes that another attempt later may get past: throttling, its own trouble, and the shop's
# credentials (which the shop can fix while the delivery waits). Other 4xx refusals are for good: 21610
# (the number sent STOP), 21211 and 21614 (not a valid or not a mobile number), 21408 (region not enabled)...
RETRYABLE_CODES = frozenset({20003, 20429, 20500, 20503, 30001})


class _Client(Client):  # type: ignore[misc]
    """Twilio's client with its API host replaced by ``api_base_url``: the SDK decides every request's
    host in ``get_hostname`` (where it applies edges and regions), so the override goes there too."""

    def __init__(self, *args: Any, api_base_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_base_url = urlsplit(api_base_url) if api_base_url else None

    def get_hostname(self, uri: str) -> str:
        uri = str(super().get_hostname(uri))
        if self.api_base_url is None:
            return uri
        parts = urlsplit(uri)
        base = self.api_base_url
        return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))


def status_callback_url(settings: Settings, sent_at: float) -> str:
    return f"{settings.public_url.rstrip('/')}{STATUS_CALLBACK_PATH}?{SENT_PARAMETER}={int(sent_at)}"


def refusal(exc: TwilioRestException | TwilioServiceException) -> DeliveryFailed:
    """What Twilio's refusal (its classic error body, or an RFC 9457 problem) means for the delivery."""
    code = exc.code if isinstance(exc.code, int) else None
    status = int(exc.status)
    text = exc.msg if isinstance(exc, TwilioRestException) else (exc.detail or exc.title)
    reason = f"Twilio answered {status}" + (f" (error {code}: {text})" if code else f": {text}")
    if status >= 500 or status == 429 or code in RETRYABLE_CODES:
        return DeliveryFailed(reason, permanent=False)
    return DeliveryFailed(reason, permanent=True)


class TwilioSmsProvider:
    name = NAME
    channel = CHANNEL

    def __init__(self, settings: TwilioSettings) -> None:
        assert settings.twilio_account_sid
        assert settings.twilio_auth_token
        self.settings = settings
        self._client: _Client | None = None

    def client(self) -> _Client:
        # Built on first use: the SDK's aiohttp session belongs to the running event loop.
        if self._client is None:
            settings = self.settings
            assert settings.twilio_auth_token
            self._client = _Client(
                settings.twilio_account_sid,
                settings.twilio_auth_token.get_secret_value(),
                http_client=AsyncTwilioHttpClient(),
                api_base_url=settings.twilio_api_base_url,
            )
        return self._client

    def _sender(self) -> dict[str, str]:
        if self.settings.twilio_messaging_service_sid:
            return {"messaging_service_sid": self.settings.twilio_messaging_service_sid}
        assert self.settings.twilio_from_number
        return {"from_": self.settings.twilio_from_number}

    async def send(self, message: OutboundMessage) -> SendResult:
        client = self.client()
        try:
            async with asyncio.timeout(self.settings.twilio_timeout_seconds):
                created = await client.messages.create_async(
                    to=message.to,
                    body=message.text,
                    status_callback=status_callback_url(self.settings, time.time()),
                    **self._sender(),
                )
        except (TwilioRestException, TwilioServiceException) as exc:
            raise refusal(exc) from exc
        except TimeoutError as exc:
            raise DeliveryFailed("Twilio did not answer in time", permanent=False) from exc
        except aiohttp.ClientError as exc:
            raise DeliveryFailed(f"Twilio could not be reached: {exc!r}", permanent=False) from exc
        return SendResult(provider=NAME, provider_message_id=str(created.sid))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.http_client.close()
            self._client = None


def twilio_sms_provider(settings: Settings) -> Provider | None:
    """The Twilio sender when an account, its auth token and a messaging service or sender number are set;
    None otherwise."""
    part = settings.part(TwilioSettings)
    if not part.twilio_configured():
        return None
    return TwilioSmsProvider(part)
