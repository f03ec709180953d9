"""Twilio's webhooks: status callbacks of the SMS the shop sent, and texts sent to the shop's number.

Both are form posts signed with ``X-Twilio-Signature`` (HMAC-SHA1 of the URL Twilio called and the sorted
form fields, keyed with the auth token), checked with the SDK's ``RequestValidator`` against the URL rebuilt
from the shop's public URL. A status callback is stored once per (message, status); its URL carries the
send time, so one replayed after ``twilio_callback_max_age_seconds`` is refused. An inbound text is stored
once per message id; STOP/START change the number's opt-out, HELP is answered with the shop's help text."""

from __future__ import annotations

import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.notifications.contact_repository import ContactRepository
from emporium.notifications.messaging_config import TwilioSettings
from emporium.notifications.providers.twilio_sms import NAME, SENT_PARAMETER
from emporium.notifications.webhooks.common import HELP, START, STOP, WebhookRefused, keyword

FORM = "application/x-www-form-urlencoded"
# Twilio's message statuses that move a delivery; the rest (queued, sending, accepted...) are only noted.
STATUSES = {name: name for name in ("sent", "delivered", "read", "undelivered", "failed")}
WHATSAPP_PREFIX = "whatsapp:"


def verified_form(
    settings: TwilioSettings, url: str, body: bytes, headers: Mapping[str, str]
) -> ImmutableMultiDict[str, str]:
    """The form fields of a request Twilio signed; WebhookRefused for anything else."""
    if settings.twilio_auth_token is None:
        raise WebhookRefused("Twilio is not configured.")
    if headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        raise WebhookRefused("Twilio's webhooks are form posts.")
    signature = headers.get("x-twilio-signature", "")
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
        fields = ImmutableMultiDict(pairs)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRefused("The form could not be read.") from exc
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
    if not signature or not validator.validate(url, fields, signature):
        raise WebhookRefused("The signature does not match.")
    return fields


def _required(fields: ImmutableMultiDict[str, str], *names: str) -> list[str]:
    values = [fields.get(name, "") for name in names]
    if not all(values) or any(len(value) > 100 for value in values):
        raise WebhookRefused(f"The callback lacks {', '.join(names)}.")
    return values


def _check_age(settings: TwilioSettings, url: str) -> None:
    sent = dict(parse_qsl(urlsplit(url).query)).get(SENT_PARAMETER, "")
    if not sent.isdigit():
        raise WebhookRefused("The callback URL carries no send time.")
    if time.time() - int(sent) > settings.twilio_callback_max_age_seconds:
        raise WebhookRefused("The callback is too old.")


async def receive_status(
    session: AsyncSession, app_settings: Settings, url: str, body: bytes, headers: Mapping[str, str]
) -> bool:
    """Verify a status callback and move its delivery; True when new, False for a repeat."""
    settings = app_settings.part(TwilioSettings)
    fields = verified_form(settings, url, body, headers)
    _check_age(settings, url)
    sid, status = _required(fields, "MessageSid", "MessageStatus")
    contacts = ContactRepository(session)
    if not await contacts.first_callback(NAME, f"{sid}:{status}", "status"):
        return False
    if status in STATUSES:
        code = fields.get("ErrorCode")
        error = f"Twilio error {code}" if code else None
        await contacts.record_provider_status("sms", sid, STATUSES[status], error)
    return True


async def receive_inbound(
    session: AsyncSession, app_settings: Settings, url: str, body: bytes, headers: Mapping[str, str]
) -> str:
    """Verify a text sent to the shop, act on its keyword, and return the TwiML to answer with."""
    settings = app_settings.part(TwilioSettings)
    fields = verified_form(settings, url, body, headers)
    sid, sender = _required(fields, "MessageSid", "From")
    reply = MessagingResponse()
    contacts = ContactRepository(session)
    if not await contacts.first_callback(NAME, sid, "inbound"):
        return str(reply)
    # Twilio also carries WhatsApp (``whatsapp:+15551234567``); the keywords mean the same there.
    channel, address = "sms", sender
    if sender.startswith(WHATSAPP_PREFIX):
        channel, address = "whatsapp", sender.removeprefix(WHATSAPP_PREFIX)
    await contacts.note_inbound(channel, address, utcnow())
    word = keyword(fields.get("Body", ""))
    if word in (STOP, START):
        await contacts.set_opt_out(channel, address, opted_out=word == STOP, source=f"keyword:{word}")
    elif word == HELP:
        reply.message(settings.help_text())
    return str(reply)
