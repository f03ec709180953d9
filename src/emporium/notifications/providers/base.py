"""What every channel's sender (e-mail, SMS, WhatsApp, web push) is given and answers.

A delivery job renders the message, hands it to the provider the settings chose for its channel, and records
what came back. The provider does only the wire work: it never reads the database, so a provider that is
slow or down holds no transaction open and rolls nothing back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class OutboundMessage:
    """One delivery, rendered for its channel."""

    delivery_id: int
    # The same on every attempt of this delivery: e-mail's Message-ID, the provider's idempotency header.
    idempotency_key: str
    channel: str
    # The e-mail address, the E.164 phone number, or the push subscription's endpoint URL.
    to: str
    event: str
    category: str
    locale: str
    # The e-mail subject, the push title.
    subject: str
    # The SMS body, the push body, the e-mail's text part, WhatsApp's free text.
    text: str
    html: str | None = None
    # An absolute URL the message opens (push click, in-app link).
    link: str | None = None
    # WhatsApp outside the 24-hour window: the event whose approved template must be used (None inside
    # the window, where free text may go).
    template: str | None = None
    # Web push: a newer message with the same topic replaces an undelivered older one (RFC 8030).
    topic: str | None = None
    ttl_seconds: int = 24 * 3600
    # Web push: the subscription's keys (``p256dh``, ``auth``).
    keys: Mapping[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    # E-mail headers of this message (``List-Unsubscribe``, ``List-Unsubscribe-Post``).
    headers: Mapping[str, str] = field(default_factory=dict)
    # The event's facts as text (order number, tracking link, first name): a WhatsApp template's
    # parameters are chosen from them by the provider's template registry.
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    provider: str
    provider_message_id: str | None
    # ``sent`` when the provider accepted it; ``delivered`` when acceptance is delivery (the mailbox).
    status: str = "sent"


class DeliveryFailed(Exception):
    """The provider refused or could not be reached.

    ``permanent``: no retry can help (an invalid or opted-out number, a rejected template, a subscription
    that is gone): the delivery ends ``failed`` now and a transactional message falls back to the next
    channel. ``gone``: the address itself no longer exists (push 404/410) and should be forgotten.
    """

    def __init__(self, reason: str, *, permanent: bool, gone: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.gone = gone


class Provider(Protocol):
    name: str
    channel: str

    async def send(self, message: OutboundMessage) -> SendResult: ...

    async def aclose(self) -> None: ...
