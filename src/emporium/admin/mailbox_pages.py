"""``/admin/mailbox``: the development mailbox, where the shop keeps its mail while no SMTP server is
configured (``EMPORIUM_SMTP_HOST`` unset). A message's HTML is never put into the back office's page: it
is served on its own, under a policy that lets it run nothing and load nothing, into a sandboxed frame.
With an SMTP server configured the page says that mail goes there instead."""

from __future__ import annotations

from typing import Annotated

from fastapi.responses import HTMLResponse, Response

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.params import CursorParam, OptionalEmail
from emporium.admin.routing import admin_router
from emporium.analytics.periods import shop_zone
from emporium.core.errors import NotFound
from emporium.core.params import IdPath
from emporium.core.permissions import Permission
from emporium.notifications.config import MailSettings
from emporium.notifications.service import notifications
from emporium.web.page import NO_STORE

router = admin_router(prefix="/admin/mailbox")

MailboxPage = Annotated[AdminContext, AdminWith(Permission.MAILBOX_READ)]
PAGE_SIZE = 50
# A mail's HTML as a document of its own: no script, no request anywhere (images inline only), no form,
# no link that leaves the frame; only the same origin's back office may frame it, sandboxed.
MAIL_HTML_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox",
    )
)


def _smtp(page: AdminContext) -> str | None:
    """Where mail goes when an SMTP server is configured (host and port), else None."""
    mail = page.settings.part(MailSettings)
    return f"{mail.smtp_host}:{mail.smtp_port}" if mail.smtp_host else None


@router.get("", response_class=HTMLResponse, response_model=None)
async def mailbox(page: MailboxPage, to: OptionalEmail = "", after: CursorParam = "") -> Response:
    address = to.strip().lower()
    found = await notifications.mailbox_page(page.session, address or None, after or None, PAGE_SIZE)
    return await page.render(
        "admin/operations/mailbox.html.j2",
        title="Mailbox",
        breadcrumbs=[("Mailbox", None)],
        messages=found.rows,
        next_cursor=found.next_cursor,
        to=address,
        smtp=_smtp(page),
        zone=shop_zone(page.settings),
    )


@router.get("/{message_id}", response_class=HTMLResponse, response_model=None)
async def mail_page(page: MailboxPage, message_id: IdPath) -> Response:
    message = await notifications.mail_message(page.session, message_id)
    if message is None:
        raise NotFound("No such message in the mailbox.")
    return await page.render(
        "admin/operations/mail.html.j2",
        title=message.subject,
        breadcrumbs=[("Mailbox", "/admin/mailbox"), (message.subject, None)],
        message=message,
        smtp=_smtp(page),
        zone=shop_zone(page.settings),
    )


@router.get("/{message_id}/html", response_model=None)
async def mail_html(page: MailboxPage, message_id: IdPath) -> Response:
    """The message's HTML part for the sandboxed frame of its page."""
    message = await notifications.mail_message(page.session, message_id)
    if message is None:
        raise NotFound("No such message in the mailbox.")
    return HTMLResponse(
        message.html_body,
        headers={
            "Content-Security-Policy": MAIL_HTML_POLICY,
            "X-Frame-Options": "SAMEORIGIN",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": NO_STORE,
        },
    )
