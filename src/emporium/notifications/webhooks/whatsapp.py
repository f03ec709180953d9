"""WhatsApp Cloud API webhooks: the subscription check (``GET`` with ``hub.challenge``) and the signed
``POST`` of delivery statuses and inbound messages.

A POST is verified by ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret) before it
is parsed; an event in it older than ``whatsapp_callback_max_age_seconds`` (Meta retries for a week) makes it
a replay, refused whole. Each status is stored once per (message, status), each inbound message once per id:
a status moves its delivery, a message opens the 24-hour window and may say STOP or START."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.errors import Forbidden
from emporium.notifications.contact_repository import ContactRepository
from emporium.notifications.messaging_config import WhatsAppSettings
from emporium.notifications.providers.whatsapp import CHANNEL, NAME
from emporium.notifications.webhooks.common import START, STOP, WebhookRefused, keyword

SIGNATURE_PREFIX = "sha256="
PHONE = re.compile(r"\+?[1-9][0-9]{6,14}")
# WhatsApp's statuses that move a delivery (``deleted``, ``warning``... are only noted).
STATUSES = {name: name for name in ("sent", "delivered", "read", "failed")}


class _Error(BaseModel):
    code: int
    title: str | None = None


class _Status(BaseModel):
    id: str = Field(min_length=1, max_length=150)
    status: str = Field(min_length=1, max_length=30)
    timestamp: int
    errors: list[_Error] = []


class _Text(BaseModel):
    body: str = ""


class _Button(BaseModel):
    text: str = ""


class _Message(BaseModel):
    id: str = Field(min_length=1, max_length=150)
    # A phone number (``wa_id``) today; anything else (Meta's coming user ids) is stored, not acted on.
    sender: str = Field(alias="from", min_length=1, max_length=64)
    timestamp: int
    type: str
    text: _Text | None = None
    button: _Button | None = None


class _Metadata(BaseModel):
    phone_number_id: str


class _Value(BaseModel):
    metadata: _Metadata
    statuses: list[_Status] = []
    messages: list[_Message] = []


class _Change(BaseModel):
    field: str
    # Read as message events only when ``field`` is ``messages``: the same webhook also tells of template
    # reviews, quality ratings and account updates, each shaped its own way (acknowledged, not acted on).
    value: dict[str, Any]


class _Entry(BaseModel):
    changes: list[_Change] = []


class _Payload(BaseModel):
    object: Literal["whatsapp_business_account"]
    entry: list[_Entry]


def verify_subscription(app_settings: Settings, mode: str | None, token: str | None, challenge: str) -> str:
    """Meta's check that this URL is the shop's: the challenge echoed when the verify token matches."""
    expected = app_settings.part(WhatsAppSettings).whatsapp_verify_token
    if (
        mode != "subscribe"
        or expected is None
        or token is None
        or not hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
    ):
        raise Forbidden("The verify token does not match.")
    return challenge


def _verified(settings: WhatsAppSettings, body: bytes, headers: Mapping[str, str]) -> _Payload:
    if settings.whatsapp_app_secret is None:
        raise WebhookRefused("WhatsApp is not configured.")
    signature = headers.get("x-hub-signature-256", "")
    expected = hmac.new(settings.whatsapp_app_secret.get_secret_value().encode(), body, hashlib.sha256)
    if not signature.startswith(SIGNATURE_PREFIX) or not hmac.compare_digest(
        signature[len(SIGNATURE_PREFIX) :], expected.hexdigest()
    ):
        raise WebhookRefused("The signature does not match.")
    try:
        return _Payload.model_validate_json(body)
    except ValidationError as exc:
        raise WebhookRefused("The event could not be read.") from exc


def _ours(settings: WhatsAppSettings, payload: _Payload) -> list[_Value]:
    """The message events of this shop's number (an app may serve several numbers)."""
    changes = [change for entry in payload.entry for change in entry.changes]
    try:
        values = [_Value.model_validate(change.value) for change in changes if change.field == "messages"]
    except ValidationError as exc:
        raise WebhookRefused("The event could not be read.") from exc
    number = settings.whatsapp_phone_number_id
    return [value for value in values if number is None or value.metadata.phone_number_id == number]


def _check_age(settings: WhatsAppSettings, values: list[_Value]) -> None:
    times = [s.timestamp for v in values for s in v.statuses]
    times += [m.timestamp for v in values for m in v.messages]
    if times and time.time() - min(times) > settings.whatsapp_callback_max_age_seconds:
        raise WebhookRefused("The event is too old.")


async def _status(contacts: ContactRepository, status: _Status) -> bool:
    if not await contacts.first_callback(NAME, f"{status.id}:{status.status}", "status"):
        return False
    if status.status in STATUSES:
        error = "; ".join(f"WhatsApp error {e.code}: {e.title or ''}".strip() for e in status.errors) or None
        await contacts.record_provider_status(CHANNEL, status.id, STATUSES[status.status], error)
    return True


async def _inbound(contacts: ContactRepository, message: _Message) -> bool:
    if not await contacts.first_callback(NAME, message.id, "inbound"):
        return False
    if not PHONE.fullmatch(message.sender):
        return True
    address = "+" + message.sender.removeprefix("+")
    await contacts.note_inbound(CHANNEL, address, datetime.fromtimestamp(message.timestamp, UTC))
    text = message.text.body if message.text else (message.button.text if message.button else "")
    word = keyword(text)
    if word in (STOP, START):
        await contacts.set_opt_out(CHANNEL, address, opted_out=word == STOP, source=f"keyword:{word}")
    return True


async def receive_events(
    session: AsyncSession, app_settings: Settings, body: bytes, headers: Mapping[str, str]
) -> int:
    """Verify one POST and act on each new event in it; how many were new."""
    settings = app_settings.part(WhatsAppSettings)
    values = _ours(settings, _verified(settings, body, headers))
    _check_age(settings, values)
    contacts = ContactRepository(session)
    new = 0
    for value in values:
        for status in value.statuses:
            new += await _status(contacts, status)
        for message in value.messages:
            new += await _inbound(contacts, message)
    return new
