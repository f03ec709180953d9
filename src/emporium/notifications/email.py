"""E-mail: Jinja2 templates (plain text + HTML) and delivery by SMTP or to the development mailbox."""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from functools import lru_cache
from typing import Any

import aiosmtplib
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from emporium.core.config import Settings
from emporium.core.db import Database
from emporium.core.jobs import record_done_now
from emporium.core.metrics import NOTIFICATIONS
from emporium.notifications.config import MailSettings
from emporium.notifications.models import DevMailMessage


@dataclass(frozen=True)
class RenderedEmail:
    to: str
    subject: str
    text: str
    html: str
    template: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Autoescape the HTML templates only: escaping the plain-text part would show "&amp;" to readers.
    return Environment(
        loader=PackageLoader("emporium", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_email(template: str, to: str, context: dict[str, Any]) -> RenderedEmail:
    env = _environment()
    text_template = env.get_template(f"emails/{template}.txt.j2")
    html_template = env.get_template(f"emails/{template}.html.j2")
    text_ctx = text_template.new_context(context)
    subject = "".join(text_template.blocks["subject"](text_ctx)).strip()
    text = "".join(text_template.blocks["body"](text_template.new_context(context))).strip() + "\n"
    html = html_template.render(subject=subject, **context)
    return RenderedEmail(to=to, subject=subject, text=text, html=html, template=template)


def subject_of(template: str, context: dict[str, Any]) -> str:
    """The subject line an e-mail of ``template`` with ``context`` has (its text template's subject)."""
    text_template = _environment().get_template(f"emails/{template}.txt.j2")
    return "".join(text_template.blocks["subject"](text_template.new_context(context))).strip()


_MESSAGE_KEY = re.compile(r"[A-Za-z0-9._-]{8,64}")


def message_id(settings: MailSettings, message_key: str | None = None) -> str:
    """``<key@domain>``: fixed by the key chosen when the mail was queued, so a mail sent again after a
    crash carries the same Message-ID and the receiving side can drop the duplicate."""
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "emporium.localhost"
    if message_key and _MESSAGE_KEY.fullmatch(message_key):
        return f"<{message_key}@{domain}>"
    return make_msgid(domain=domain)


def build_message(
    settings: MailSettings, mail: RenderedEmail, message_key: str | None = None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = message_id(settings, message_key)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


@lru_cache(maxsize=1)
def this_host_name() -> str:
    """The name this host gives in EHLO, looked up once per process: the lookup can take seconds where
    reverse DNS is slow, and the client library would otherwise repeat it for every message."""
    return socket.getfqdn()


async def smtp_client(settings: MailSettings) -> aiosmtplib.SMTP:
    """A client of the configured SMTP server, not yet connected (this host's name looked up once)."""
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        start_tls=settings.smtp_starttls,
        use_tls=settings.smtp_use_tls,
        timeout=settings.smtp_timeout_seconds,
        local_hostname=await asyncio.to_thread(this_host_name),
    )


async def deliver(
    app_settings: Settings,
    db: Database,
    mail: RenderedEmail,
    *,
    job_id: int | None = None,
    message_key: str | None = None,
) -> None:
    """Send by SMTP when configured; otherwise keep the mail in the development mailbox.

    Run as a job, the job is recorded done as soon as the mail is out of our hands: by SMTP in a transaction
    of its own right after the server accepted the message (before QUIT, and before the runner records the
    outcome), in the development mailbox in the transaction that keeps it. A worker killed after that does
    not send the mail again; only a kill between the server's acceptance and that commit can.
    """
    settings = app_settings.part(MailSettings)
    if settings.smtp_host:
        client = await smtp_client(settings)
        accepted = False
        try:
            # Leaving the block sends QUIT; a server that hangs up instead changes nothing (the mail is sent).
            async with client:
                await client.send_message(build_message(settings, mail, message_key))
                accepted = True
                NOTIFICATIONS.labels("email", "sent").inc()
                async with db.session() as session:
                    await record_done_now(session)
        except Exception:
            if not accepted:
                # Each failed attempt counts; the job retries it, and a later success counts as sent.
                NOTIFICATIONS.labels("email", "failed").inc()
            raise
        return
    async with db.session() as session:
        await record_done_now(session)
        session.add(
            DevMailMessage(
                to_address=mail.to,
                from_address=settings.mail_from,
                subject=mail.subject,
                text_body=mail.text,
                html_body=mail.html,
                template=mail.template,
                job_id=job_id,
            )
        )
    # Kept in the development mailbox (committed above): delivered, as far as this shop goes.
    NOTIFICATIONS.labels("email", "sent").inc()
