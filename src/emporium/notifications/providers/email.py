"""E-mail through the shop's SMTP server (the sender notifications/email.py has always used).

The Message-ID is made from the delivery's idempotency key, so every attempt of one delivery carries the
same one and a receiving server can drop a repeat; attachments (the payment receipt) and extra headers
(``List-Unsubscribe``) travel with it.
"""

from __future__ import annotations

import asyncio
import hashlib
from email.message import EmailMessage

import aiosmtplib

from emporium.core.metrics import NOTIFICATIONS
from emporium.notifications.config import MailSettings
from emporium.notifications.email import message_id, smtp_client
from emporium.notifications.providers.base import DeliveryFailed, OutboundMessage, SendResult

# SMTP replies that say the address itself will never take this mail (RFC 5321 5xx on the recipient).
_PERMANENT = range(500, 600)


_QUITTING: set[asyncio.Task[None]] = set()


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()


def message_key(idempotency_key: str) -> str:
    """A Message-ID local part fixed by the delivery (hex: what an SMTP header may carry)."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def build(settings: MailSettings, message: OutboundMessage) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Message-ID"] = message_id(settings, message_key(message.idempotency_key))
    for name, value in message.headers.items():
        mail[name] = value
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        main, _, sub = attachment.content_type.partition("/")
        mail.add_attachment(
            attachment.content, maintype=main, subtype=sub or "octet-stream", filename=attachment.filename
        )
    return mail


class SmtpEmailProvider:
    name = "smtp"
    channel = "email"

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    async def send(self, message: OutboundMessage) -> SendResult:
        settings = self.settings
        client = await smtp_client(settings)
        mail = build(settings, message)
        try:
            await client.connect()
            await client.send_message(mail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            NOTIFICATIONS.labels("email", "failed").inc()
            client.close()
            codes = [error.code for error in exc.recipients]
            raise DeliveryFailed(f"refused: {exc}", permanent=all(c in _PERMANENT for c in codes)) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            NOTIFICATIONS.labels("email", "failed").inc()
            client.close()
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}", permanent=False) from exc
        except BaseException:  # cancelled by the send's time limit: no connection is left open
            client.close()
            raise
        # The server has the mail: the delivery is recorded now, while QUIT goes on its own (a server that
        # hangs up instead changes nothing), so a worker killed meanwhile does not send the mail again.
        task = asyncio.create_task(_quit(client))
        _QUITTING.add(task)
        task.add_done_callback(_QUITTING.discard)
        NOTIFICATIONS.labels("email", "sent").inc()
        return SendResult(provider=self.name, provider_message_id=str(mail["Message-ID"]))

    async def aclose(self) -> None:
        return None
